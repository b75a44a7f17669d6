export * from '../src/protocols/http2/hpack.js';
