/**
 * The benchmark's HTTP/2 client (bench/h2-client.ts; its HPACK, src/protocols/http2/hpack.ts, is
 * tested beside that): the client against the real Nchf server (statuses, Location, flow control with bodies larger
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

const TOKEN = 'smf-token-1';
const SUBSCRIBER = 'imsi-262011234567890';
const COLLECTION = '/nchf-convergedcharging/v3/chargingdata';

const cleanUp: (() => Promise<void>)[] = [];
after(async () => {
  while (cleanUp.length > 0) await cleanUp.pop()!();
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
