/**
 * Reader of 3GPP TS 32.297 CDR files with BER-encoded TS 32.298 records (PGW-CDR, CHF-CDR).
 * See docs/usage-formats-ber.md for the field mapping.
 */
export { createBerReader, readBerCdrFile, type BerReaderOptions } from './reader.js';
export { looksLike3gppCdrFile, readCdrFileHeader, type CdrFileHeader } from './file-format.js';
