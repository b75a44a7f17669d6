/**
 * RADIUS accounting (RFC 2866, with RFC 2869 Interim-Update and Gigawords): the packet codec,
 * the accounting authenticators, the clients table, the conversion of Accounting-Requests into
 * data usage, and the UDP server. See docs/radius.md.
 */
export * from './codec.js';
export * from './authenticator.js';
export * from './clients.js';
export * from './accounting.js';
export * from './server.js';
