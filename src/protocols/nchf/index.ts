/**
 * The 5G converged charging face: Nchf_ConvergedCharging v3 (3GPP TS 32.291 Release 17) over
 * HTTP/2 cleartext and HTTP/1.1 on one port. The data model, the request schemas with their
 * TS 29.571 problem documents, the server over an injected charging handler, the notification
 * sender for a consumer's notifyUri, and a small HTTP/2 client. See docs/nchf.md.
 *
 * `fixtures.ts` (spec-shaped requests) and `fake-core.ts` (an in-memory handler) are for tests and
 * the load generator and are deliberately not exported here.
 */
export * from './model.js';
export * from './problem.js';
export * from './schema.js';
export * from './server.js';
export * from './notify.js';
export * from './client.js';
