/**
 * Diameter online charging (Gy/Ro): the AVP dictionary, the message codec and stream framer, the
 * Credit-Control mapping (RFC 4006 / RFC 8506, 3GPP TS 32.299), the TCP peer server and a small
 * client, the Gy/Ro handler over the charging engine (gy.ts) and the re-authorisation of sessions
 * a credit reaches (reauth.ts). See docs/diameter.md.
 */
export * from './dictionary.js';
export * from './result-codes.js';
export * from './codec.js';
export * from './errors.js';
export * from './credit-control.js';
export { DiameterConnection, nextEndToEndId, type DiameterLogger } from './connection.js';
export * from './server.js';
export * from './client.js';
export * from './gy.js';
export * from './reauth.js';
