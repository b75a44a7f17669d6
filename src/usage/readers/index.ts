/**
 * Usage readers: the text formats (generic CSV/TSV with a column mapping, Asterisk cdr_csv,
 * FreeSWITCH mod_cdr_csv and mod_json_cdr, JSON lines), the registry and the file helper. The 3GPP
 * BER reader lives in ./ber. See docs/usage-formats.md.
 */
export {
  readerFor,
  readerForSource,
  validateSourceMapping,
  openUsageFile,
  readUsageFile,
  TEXT_FORMATS,
  type TextFormat,
  type ReaderOptions,
} from './registry.js';
export { createCsvReader, type CsvReaderOptions } from './csv.js';
export {
  compileCsvMapping,
  validateCsvMapping,
  MAPPED_FIELDS,
  type CsvMapping,
  type FieldMapping,
  type MappedField,
  type CompiledMapping,
  type RecordExtractor,
} from './mapping.js';
export {
  createAsteriskReader,
  ASTERISK_COLUMNS,
  ASTERISK_OPTIONAL_COLUMNS,
  type AsteriskReaderOptions,
  type AsteriskOptionalColumn,
} from './asterisk.js';
export {
  createFreeswitchCsvReader,
  freeswitchJsonToItem,
  FREESWITCH_DEFAULT_COLUMNS,
  type FreeswitchCsvOptions,
  type FreeswitchJsonOptions,
} from './freeswitch.js';
export { createJsonLinesReader, jsonLineToItem, type JsonLinesOptions } from './jsonl.js';
export { type UnansweredPolicy } from './voice.js';
export {
  RecordScanner,
  RecordView,
  readDelimited,
  NEED_MORE,
  DEFAULT_MAX_RECORD_BYTES,
  type DelimitedOptions,
  type RecordHandler,
  type TextEncoding,
} from './delimited.js';
