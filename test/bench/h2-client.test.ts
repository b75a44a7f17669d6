/**
 * The benchmark's HTTP/2 client (bench/h2-client.ts) and its HPACK (bench/hpack.ts): the Huffman
 * code against codes printed in RFC 7541 Appendix B and the request examples of Appendix C.4, then
 * the client against the real Nchf server (statuses, Location, flow control with bodies larger
 * than the server's windows, the server's stream limit) and against node:http2 servers that send
 * CONTINUATION, PING, RST_STREAM and GOAWAY.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, constants, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { FakeClock } from '../../src/kernel/clock.js';
import { FakeChargingCore } from '../../src/protocols/nchf/fake-core.js';
import {
  dataCreateRequest,
  dataReleaseRequest,
  dataUpdateRequest,
} from '../../src/protocols/nchf/fixtures.js';
import { startNchfServer, type NchfServer, type NchfServerOptions } from '../../src/protocols/nchf/server.js';
import { H2Connection, H2Error, H2ErrorCode } from '../../bench/h2-client.js';
import {
  HUFFMAN_CODES,
  HUFFMAN_CODE_LENGTHS,
  HpackDecoder,
  HpackError,
  decodeHuffman,
  encodeHuffman,
} from '../../bench/hpack.js';

const TOKEN = 'smf-token-1';
const SUBSCRIBER = 'imsi-262011234567890';
const COLLECTION = '/nchf-convergedcharging/v3/chargingdata';

const cleanUp: (() => Promise<void>)[] = [];
after(async () => {
  while (cleanUp.length > 0) await cleanUp.pop()!();
});

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('HPACK for the bench client', () => {
  it('rebuilds the Huffman codes RFC 7541 Appendix B prints', () => {
    // [symbol, code as hex, length] copied from the RFC's table, spread over every code length.
    const printed: [number, number, number][] = [
      [0, 0x1ff8, 13],
      [9, 0xffffea, 24],
      [10, 0x3ffffffc, 30],
      [32, 0x14, 6],
      [48, 0x0, 5],
      [58, 0x5c, 7],
      [92, 0x7fff0, 19],
      [97, 0x3, 5],
      [116, 0x9, 5],
      [124, 0x7fc, 11],
      [127, 0xffffffc, 28],
      [128, 0xfffe6, 20],
      [142, 0xffffeb, 24],
      [153, 0x1fffdc, 21],
      [199, 0x1ffffec, 25],
      [203, 0x7ffffde, 27],
      [220, 0xffffffd, 28],
      [255, 0x3ffffee, 26],
      [256, 0x3fffffff, 30],
    ];
    for (const [symbol, code, length] of printed) {
      assert.equal(HUFFMAN_CODE_LENGTHS[symbol], length, `length of ${symbol}`);
      assert.equal(HUFFMAN_CODES[symbol], code, `code of ${symbol}`);
    }
  });

  it('decodes every octet value Huffman-coded, and refuses EOS and over-long padding', () => {
    const all = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
    const encoded = encodeHuffman(all);
    assert.equal(decodeHuffman(encoded, 0, encoded.length), all);
    // "www.example.com" as RFC 7541 C.4.1 encodes it.
    const www = hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff');
    assert.deepEqual(encodeHuffman('www.example.com'), www);
    assert.equal(decodeHuffman(www, 0, www.length), 'www.example.com');
    // 'a' (00011) then eight bits of padding: more than seven is an error (section 5.2).
    assert.throws(() => decodeHuffman(hex('1f ff'), 0, 2), HpackError);
    // 30 ones: EOS itself.
    assert.throws(() => decodeHuffman(hex('ff ff ff ff'), 0, 4), HpackError);
    // Padding that is not all ones: 'a' followed by 000.
    assert.throws(() => decodeHuffman(hex('18'), 0, 1), HpackError);
  });

  it('decodes the request examples of RFC 7541 C.4 with their dynamic table', () => {
    const decoder = new HpackDecoder(
      new Set([':method', ':scheme', ':path', ':authority', 'cache-control', 'custom-key']),
    );
    const read = (block: string): [string, string][] => {
      const fields: [string, string][] = [];
      decoder.decode(hex(block), (name, value) => fields.push([name, value]));
      return fields;
    };
    assert.deepEqual(read('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'), [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ]);
    assert.deepEqual(decoder.table, { entries: 1, size: 57, maxSize: 4096 });
    assert.deepEqual(read('8286 84be 5886 a8eb 1064 9cbf'), [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
    ]);
    assert.deepEqual(decoder.table, { entries: 2, size: 110, maxSize: 4096 });
    assert.deepEqual(read('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'), [
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/index.html'],
      [':authority', 'www.example.com'],
      ['custom-key', 'custom-value'],
    ]);
    assert.deepEqual(decoder.table, { entries: 3, size: 164, maxSize: 4096 });
    // Our HEADER_TABLE_SIZE 0 acknowledged: the next block must shrink the table to 0 first.
    decoder.setLimit(0);
    assert.throws(() => read('82'), HpackError);
    assert.deepEqual(read('20 82'), [[':method', 'GET']]);
    assert.deepEqual(decoder.table, { entries: 0, size: 0, maxSize: 0 });
    // With a table of 0, an entry "added" is evicted at once, and an index past the table fails.
    assert.deepEqual(read('418c f1e3 c2e5 f23a 6ba0 ab90 f4ff'), [[':authority', 'www.example.com']]);
    assert.throws(() => read('be'), HpackError);
    assert.throws(() => read('82 20'), HpackError, 'a size update after a field');
  });
});

interface Caller {
  readonly name: string;
}

async function nchfServer(options: Partial<NchfServerOptions<Caller>> = {}): Promise<{
  server: NchfServer;
  core: FakeChargingCore<Caller>;
}> {
  const core = new FakeChargingCore<Caller>();
  core.setBalance(SUBSCRIBER, 1_000_000_000_000);
  const server = await startNchfServer<Caller>({
    port: 0,
    handler: core,
    authorise: (header) => (header === `Bearer ${TOKEN}` ? { name: 'smf-1' } : undefined),
    clock: new FakeClock('2026-03-01T10:15:30.500Z'),
    ...options,
  });
  cleanUp.push(() => server.close());
  return { server, core };
}

async function client(port: number, token = TOKEN): Promise<H2Connection> {
  const connection = await H2Connection.connect({
    port,
    headers: [
      ['content-type', 'application/json'],
      ['authorization', `Bearer ${token}`],
    ],
  });
  cleanUp.push(() => connection.close());
  return connection;
}

describe('the bench HTTP/2 client against the Nchf server', () => {
  it('creates, updates and releases a session: 201 with Location, 200, 204; 404 and 401', async () => {
    const { server } = await nchfServer();
    const port = server.address.port;
    const connection = await client(port);
    const created = await connection.post(COLLECTION, JSON.stringify(dataCreateRequest()));
    assert.equal(created.status, 201);
    assert.equal(created.location, `http://127.0.0.1:${port}${COLLECTION}/fake-1`);
    const updated = await connection.post(`${COLLECTION}/fake-1/update`, JSON.stringify(dataUpdateRequest()));
    assert.deepEqual(updated, { status: 200, location: undefined });
    const released = await connection.post(
      `${COLLECTION}/fake-1/release`,
      JSON.stringify(dataReleaseRequest()),
    );
    assert.deepEqual(released, { status: 204, location: undefined });
    const again = await connection.post(`${COLLECTION}/fake-1/release`, JSON.stringify(dataReleaseRequest()));
    assert.equal(again.status, 404);
    const stranger = await client(port, 'not-the-token');
    assert.equal((await stranger.post(COLLECTION, JSON.stringify(dataCreateRequest()))).status, 401);
    // A path over 127 octets takes a multi-octet HPACK length.
    const long = await connection.post(
      `${COLLECTION}/${'x'.repeat(120)}/update`,
      JSON.stringify(dataUpdateRequest()),
    );
    assert.equal(long.status, 404);
  });

  it('runs 400 sessions at once over one connection past the server windows and stream limit', async () => {
    const { server, core } = await nchfServer({ maxConcurrentStreams: 16 });
    const connection = await client(server.address.port);
    // About 1 KB a body: 1 200 of them are far more than the 65 535-octet initial windows.
    const padded = (request: object): string => JSON.stringify(request);
    assert.ok(padded(dataCreateRequest()).length > 800);
    const sessions = Array.from({ length: 400 }, async () => {
      const created = await connection.post(COLLECTION, padded(dataCreateRequest()));
      assert.equal(created.status, 201);
      const ref = created.location!.slice(created.location!.lastIndexOf('/') + 1);
      assert.equal(
        (await connection.post(`${COLLECTION}/${ref}/update`, padded(dataUpdateRequest()))).status,
        200,
      );
      assert.equal(
        (await connection.post(`${COLLECTION}/${ref}/release`, padded(dataReleaseRequest()))).status,
        204,
      );
      return ref;
    });
    const refs = await Promise.all(sessions);
    assert.equal(new Set(refs).size, 400);
    assert.equal(core.sessionCount, 0);
    assert.equal(connection.activeStreams, 0);
  });
});

async function h2Server(
  onStream: (stream: ServerHttp2Stream) => void,
): Promise<{ server: Http2Server; port: number }> {
  const server = createServer();
  server.on('stream', onStream);
  // close() waits for every session to end; a test that leaves one half-open (GOAWAY) must not
  // keep the file from finishing.
  const sessions = new Set<{ destroy(): void }>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanUp.push(
    () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  );
  return { server, port: (server.address() as AddressInfo).port };
}

describe('the bench HTTP/2 client against node:http2', () => {
  it('decodes a header block split over CONTINUATION frames, with every printable character in Location', async () => {
    const printable = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).join(
      '',
    );
    const { port } = await h2Server((stream) => {
      stream.resume();
      stream.on('end', () => {
        stream.respond({ ':status': 201, location: `/x/${printable}`, 'x-big': 'y'.repeat(40_000) });
        stream.end('{}');
      });
    });
    const connection = await client(port);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await connection.post('/', 'hello'), { status: 201, location: `/x/${printable}` });
    }
  });

  it('sends bodies larger than the windows and the frame size, waiting for WINDOW_UPDATE', async () => {
    const { port } = await h2Server((stream) => {
      let length = 0;
      stream.on('data', (chunk: Buffer) => (length += chunk.length));
      stream.on('end', () => {
        stream.respond({ ':status': 200, location: String(length) });
        stream.end();
      });
    });
    const connection = await client(port);
    const sizes = [200_000, 70_000, 16_385, 1, 300_000];
    const replies = await Promise.all(
      sizes.map((size) => connection.post('/', 'é'.repeat(size / 2) + 'x'.repeat(size % 2))),
    );
    assert.deepEqual(
      replies.map((reply) => Number(reply.location)),
      sizes.map((size) => 2 * Math.floor(size / 2) + (size % 2)),
    );
  });

  it('answers PING, fails a reset stream and the streams a GOAWAY left out', async () => {
    let count = 0;
    const { server, port } = await h2Server((stream) => {
      stream.resume();
      count++;
      if (count === 1) {
        stream.close(constants.NGHTTP2_CANCEL);
        return;
      }
      stream.on('end', () => {
        stream.respond({ ':status': 200 });
        stream.end();
      });
    });
    const pinged = new Promise<boolean>((resolve) =>
      server.once('session', (session) => {
        session.once('remoteSettings', () => session.ping((error) => resolve(error === null)));
      }),
    );
    const connection = await client(port);
    await assert.rejects(connection.post('/', 'a'), (error: unknown) => {
      assert.ok(error instanceof H2Error);
      assert.equal(error.code, H2ErrorCode.Cancel);
      return true;
    });
    assert.equal(await pinged, true);
    assert.equal((await connection.post('/', 'b')).status, 200);
    // The server goes away having processed nothing further: the next request is refused.
    const sessions: { goaway(code: number, last: number): void }[] = [];
    server.on('stream', (stream) => sessions.push(stream.session!));
    const third = await connection.post('/', 'c');
    assert.equal(third.status, 200);
    sessions[0]!.goaway(constants.NGHTTP2_NO_ERROR, 5);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await assert.rejects(connection.post('/', 'd'), H2Error);
    await connection.closed;
  });
});
