/**
 * HTTP/2 for our servers: a lean server-side connection over cleartext TCP with prior knowledge
 * (RFC 9113), and the HPACK codec (RFC 7541) it and the benchmark client share.
 */
export {
  H2ServerConnection,
  H2ServerStream,
  H2ErrorCode,
  CLIENT_PREFACE,
  type H2ServerOptions,
} from './server-connection.js';
export { HpackDecoder, HpackError } from './hpack.js';
