import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as http1Request } from 'node:http';
import { connect as netConnect, createServer as createNetServer, type Socket } from 'node:net';
import { FakeClock } from '../../kernel/clock.js';
import { createNchfClient, refFromLocation, type NchfClient } from './client.js';
import { FakeChargingCore } from './fake-core.js';
import { dataCreateRequest, dataReleaseRequest, dataUpdateRequest, smsEventRequest } from './fixtures.js';
import type { ChargingDataResponse, ProblemDetails } from './model.js';
import {
  startNchfServer,
  type ChargingRequestContext,
  type ConvergedChargingHandler,
  type NchfLogger,
  type NchfServer,
  type NchfServerOptions,
} from './server.js';

const TOKEN = 'smf-token-1';
const SUBSCRIBER = 'imsi-262011234567890';
const COLLECTION = '/nchf-convergedcharging/v3/chargingdata';

interface Caller {
  readonly name: string;
}

interface Harness {
  readonly server: NchfServer;
  readonly core: FakeChargingCore<Caller>;
  readonly client: NchfClient;
  readonly baseUrl: string;
  readonly logs: { level: string; object: object; message: string }[];
}

const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()!();
});

async function harness(options: Partial<NchfServerOptions<Caller>> = {}): Promise<Harness> {
  const core = new FakeChargingCore<Caller>();
  core.setBalance(SUBSCRIBER, 12_000_000);
  const logs: Harness['logs'] = [];
  const logger: NchfLogger = {
    info: (object, message) => logs.push({ level: 'info', object, message }),
    warn: (object, message) => logs.push({ level: 'warn', object, message }),
    error: (object, message) => logs.push({ level: 'error', object, message }),
  };
  const server = await startNchfServer<Caller>({
    port: 0,
    handler: core,
    authorise: (header) => (header === `Bearer ${TOKEN}` ? { name: 'smf-1' } : undefined),
    clock: new FakeClock('2026-03-01T10:15:30.500Z'),
    logger,
    ...options,
  });
  const baseUrl = `http://127.0.0.1:${server.address.port}`;
  const client = createNchfClient({ baseUrl, token: TOKEN });
  open.push(async () => {
    await client.close();
    await server.close();
  });
  return { server, core, client, baseUrl, logs };
}

interface Http1Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly json: unknown;
}

/** An HTTP/1.1 request through fetch (undici speaks HTTP/1.1 only). */
async function fetch1(
  baseUrl: string,
  path: string,
  init: {
    method?: string;
    body?: string | object;
    token?: string | null;
    headers?: Record<string, string>;
  } = {},
): Promise<Http1Reply> {
  const headers: Record<string, string> = { ...init.headers };
  const token = init.token === undefined ? TOKEN : init.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, { method: init.method ?? 'POST', headers, body });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers.entries()),
    text,
    json: text !== '' && type.includes('json') ? JSON.parse(text) : undefined,
  };
}

/** Sends raw bytes over TCP, optionally in pieces, and returns everything the server answered. */
async function rawExchange(port: number, pieces: readonly string[], pauseMs = 20): Promise<string> {
  const socket = netConnect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  for (const piece of pieces) {
    socket.write(piece);
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  await ended;
  return Buffer.concat(received).toString('utf8');
}

function problemOf(body: unknown): ProblemDetails {
  assert.ok(body !== undefined && typeof body === 'object', 'expected a problem document');
  return body as ProblemDetails;
}

describe('Nchf server over HTTP/2 with prior knowledge', () => {
  it('creates, updates and releases a charging session', async () => {
    const h = await harness();
    const created = await h.client.create(dataCreateRequest());
    assert.equal(created.status, 201);
    assert.equal(created.headers['content-type'], 'application/json');
    const location = String(created.headers.location);
    assert.equal(location, `${h.baseUrl}${COLLECTION}/fake-1`);
    const ref = refFromLocation(location)!;
    assert.equal(ref, 'fake-1');
    assert.deepEqual(created.body, {
      invocationTimeStamp: '2026-03-01T10:15:30.500Z',
      invocationSequenceNumber: 0,
      multipleUnitInformation: [
        {
          resultCode: 'SUCCESS',
          ratingGroup: 10,
          grantedUnit: { totalVolume: 5_000_000 },
          validityTime: 3600,
        },
      ],
    } satisfies ChargingDataResponse);

    const updated = await h.client.update(ref, dataUpdateRequest());
    assert.equal(updated.status, 200);
    assert.equal(updated.body?.invocationSequenceNumber, 1);
    // 12 000 000 − 5 000 000 used − 5 000 000 granted again = 2 000 000 left.
    assert.equal(h.core.balance(SUBSCRIBER), 2_000_000);

    const released = await h.client.release(ref, dataReleaseRequest());
    assert.equal(released.status, 204);
    assert.equal(released.text, '');
    // The release reports 750 000 of the 5 000 000 reserved: 4 250 000 come back.
    assert.equal(h.core.balance(SUBSCRIBER), 6_250_000);

    assert.deepEqual(
      h.core.calls.map((c) => [c.operation, c.ref, c.context.protocol, c.context.caller.name]),
      [
        ['create', undefined, 'h2c', 'smf-1'],
        ['update', 'fake-1', 'h2c', 'smf-1'],
        ['release', 'fake-1', 'h2c', 'smf-1'],
      ],
    );
    assert.equal(h.core.calls[0]!.context.receivedMs, Date.parse('2026-03-01T10:15:30.500Z'));
    assert.deepEqual(h.server.counters().responses, { '200': 1, '201': 1, '204': 1 });
    assert.equal(h.server.counters().http2Connections, 1);
  });

  it('answers 404 CONTEXT_NOT_FOUND for an unknown or released ref, and for a ref that cannot exist', async () => {
    const h = await harness();
    const unknown = await h.client.update('fake-99', dataUpdateRequest());
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers['content-type'], 'application/problem+json');
    assert.equal(unknown.body?.cause, 'CONTEXT_NOT_FOUND');
    assert.equal(unknown.body?.status, 404);

    const created = await h.client.create(dataCreateRequest());
    const ref = refFromLocation(String(created.headers.location))!;
    assert.equal((await h.client.release(ref, dataReleaseRequest())).status, 204);
    const again = await h.client.release(ref, dataReleaseRequest());
    assert.equal(again.status, 404);
    assert.equal(again.body?.cause, 'CONTEXT_NOT_FOUND');

    const callsBefore = h.core.calls.length;
    const odd = await h.client.update('a%20b', dataUpdateRequest());
    assert.equal(odd.status, 404);
    assert.equal(odd.body?.cause, 'CONTEXT_NOT_FOUND');
    assert.equal(h.core.calls.length, callsBefore, 'a ref of the wrong shape never reaches the core');
  });

  it('answers 400 INVALID_MSG_FORMAT for bad JSON and an empty body', async () => {
    const h = await harness();
    const bad = await h.client.create('{"invocationSequenceNumber": 1,');
    assert.equal(bad.status, 400);
    assert.equal(bad.headers['content-type'], 'application/problem+json');
    assert.equal(bad.body?.cause, 'INVALID_MSG_FORMAT');
    assert.equal(bad.body?.title, 'Bad Request');
    const empty = await h.client.create('');
    assert.equal(empty.status, 400);
    assert.equal(empty.body?.cause, 'INVALID_MSG_FORMAT');
    assert.equal(h.core.calls.length, 0);
  });

  it('answers 400 MANDATORY_IE_MISSING naming the missing IE', async () => {
    const h = await harness();
    const { invocationTimeStamp: _omitted, ...withoutTimestamp } = dataCreateRequest();
    const reply = await h.client.create(JSON.stringify(withoutTimestamp));
    assert.equal(reply.status, 400);
    assert.equal(reply.body?.cause, 'MANDATORY_IE_MISSING');
    assert.deepEqual(reply.body?.invalidParams, [
      { param: '/invocationTimeStamp', reason: 'is a mandatory IE and is missing' },
    ]);
    assert.equal(h.core.calls.length, 0);
  });

  it('answers 401 without a token or with a wrong one, before reading the body', async () => {
    const h = await harness();
    const missing = await h.client.create(dataCreateRequest(), { token: null });
    assert.equal(missing.status, 401);
    assert.equal(missing.headers['www-authenticate'], 'Bearer');
    assert.equal(missing.headers['content-type'], 'application/problem+json');
    const wrong = await h.client.create(dataCreateRequest(), { token: 'stolen' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers['www-authenticate'], 'Bearer error="invalid_token"');
    // Even a malformed body is not looked at for an unauthenticated caller.
    const junk = await h.client.create('{', { token: null });
    assert.equal(junk.status, 401);
    assert.equal(h.core.calls.length, 0);
  });

  it('takes an asynchronous authorise and passes its caller on', async () => {
    const h = await harness({
      authorise: async (header) => {
        await new Promise((resolve) => setImmediate(resolve));
        return header === `Bearer ${TOKEN}` ? { name: 'async-smf' } : undefined;
      },
    });
    assert.equal((await h.client.create(smsEventRequest())).status, 201);
    assert.equal(h.core.calls[0]!.context.caller.name, 'async-smf');
    assert.equal((await h.client.create(smsEventRequest(), { token: 'x' })).status, 401);
  });

  it('answers 405 with Allow for other methods, and 404 or 400 for other paths', async () => {
    const h = await harness();
    const get = await h.client.request('GET', COLLECTION);
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
    assert.equal((get.body as ProblemDetails).status, 405);
    const del = await h.client.request('DELETE', `${COLLECTION}/fake-1/release`);
    assert.equal(del.status, 405);

    const elsewhere = await h.client.request('POST', '/nudm-sdm/v2/imsi-1', dataCreateRequest());
    assert.equal(elsewhere.status, 404);
    const action = await h.client.request('POST', `${COLLECTION}/fake-1/refresh`, dataCreateRequest());
    assert.equal(action.status, 404);
    assert.equal((action.body as ProblemDetails).cause, 'RESOURCE_URI_STRUCTURE_NOT_FOUND');
    const bare = await h.client.request('POST', `${COLLECTION}/fake-1`, dataCreateRequest());
    assert.equal((bare.body as ProblemDetails).cause, 'RESOURCE_URI_STRUCTURE_NOT_FOUND');
    const oldVersion = await h.client.request(
      'POST',
      '/nchf-convergedcharging/v2/chargingdata',
      dataCreateRequest(),
    );
    assert.equal(oldVersion.status, 400);
    assert.equal((oldVersion.body as ProblemDetails).cause, 'INVALID_API');
    assert.equal(h.core.calls.length, 0);
  });

  it('ignores a query string on the path', async () => {
    const h = await harness();
    const reply = await h.client.request('POST', `${COLLECTION}?trace=1`, dataCreateRequest());
    assert.equal(reply.status, 201);
  });

  it('answers 413 for a body over the limit, declared or streamed, and 415 for a non-JSON body', async () => {
    const h = await harness({ maxBodyBytes: 2_000 });
    const big = JSON.stringify({ ...dataCreateRequest(), serviceSpecificationInfo: 'x'.repeat(5_000) });
    const streamed = await h.client.create(big);
    assert.equal(streamed.status, 413);
    assert.equal(streamed.headers['content-type'], 'application/problem+json');
    const declared = await h.client.create(big, { headers: { 'content-length': String(big.length) } });
    assert.equal(declared.status, 413);
    const xml = await h.client.create('<ChargingDataRequest/>', {
      headers: { 'content-type': 'application/xml' },
    });
    assert.equal(xml.status, 415);
    // The session survives the refusals.
    assert.equal((await h.client.create(dataCreateRequest())).status, 201);
    assert.equal(h.server.counters().http2Connections, 1);
  });

  it('passes the core refusals on with their status and cause', async () => {
    const h = await harness();
    h.core.setBalance(SUBSCRIBER, 0);
    const exhausted = await h.client.create(dataCreateRequest());
    assert.equal(exhausted.status, 403);
    assert.equal(exhausted.body?.cause, 'QUOTA_LIMIT_REACHED');
    assert.equal(exhausted.body?.status, 403);
    const stranger = await h.client.create({
      ...dataCreateRequest(),
      subscriberIdentifier: 'imsi-001010000000001',
    });
    assert.equal(stranger.status, 404);
    assert.equal(stranger.body?.cause, 'USER_UNKNOWN');
  });

  it('answers 500 SYSTEM_FAILURE when the core throws, without leaking the error', async () => {
    const h = await harness();
    h.core.failNext(new Error('connection to db-7.internal:5432 refused; password=hunter2'));
    const reply = await h.client.create(dataCreateRequest());
    assert.equal(reply.status, 500);
    assert.equal(reply.body?.cause, 'SYSTEM_FAILURE');
    assert.doesNotMatch(reply.text, /db-7|hunter2|refused/);
    assert.equal(h.logs.filter((l) => l.level === 'error').length, 1);
    assert.equal(h.server.counters().handlerErrors, 1);
    // The next request is served normally.
    assert.equal((await h.client.create(dataCreateRequest())).status, 201);
  });

  it('answers 500 when the core returns a ref that is not URL-safe', async () => {
    const core = new FakeChargingCore<Caller>();
    const handler: ConvergedChargingHandler<Caller> = {
      create: () => ({
        ref: 'a/b?c',
        response: { invocationTimeStamp: 'x', invocationSequenceNumber: 0 },
      }),
      update: core.update.bind(core),
      release: core.release.bind(core),
    };
    const h = await harness({ handler });
    const reply = await h.client.create(dataCreateRequest());
    assert.equal(reply.status, 500);
    assert.equal(reply.headers.location, undefined);
  });

  it('serves many concurrent streams on one session', async () => {
    const count = 50;
    const core = new FakeChargingCore<Caller>();
    core.setBalance(SUBSCRIBER, 10_000_000_000);
    // Every create waits until all of them have arrived: only concurrent streams can finish.
    let arrived = 0;
    let release!: () => void;
    const allArrived = new Promise<void>((resolve) => (release = resolve));
    const handler: ConvergedChargingHandler<Caller> = {
      async create(request, context: ChargingRequestContext<Caller>) {
        arrived += 1;
        if (arrived === count) release();
        await allArrived;
        return core.create(request, context);
      },
      update: core.update.bind(core),
      release: core.release.bind(core),
    };
    const h = await harness({ handler });
    const replies = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        h.client.create({ ...dataCreateRequest(), invocationSequenceNumber: i }),
      ),
    );
    assert.deepEqual(
      replies.map((r) => r.status),
      Array.from({ length: count }, () => 201),
    );
    assert.deepEqual(
      replies.map((r) => r.body?.invocationSequenceNumber),
      Array.from({ length: count }, (_, i) => i),
    );
    assert.equal(new Set(replies.map((r) => r.headers.location)).size, count);
    assert.equal(h.server.counters().http2Connections, 1);
    assert.equal(h.server.counters().requests, count);
  });

  it('accepts a connection preface that arrives in pieces', async () => {
    const h = await harness();
    // A TCP proxy that forwards the client's first bytes (the preface) 5 at a time, so the
    // server sees the preface split over several reads.
    const proxy = createNetServer((inbound: Socket) => {
      inbound.pause();
      const outbound = netConnect(h.server.address.port, '127.0.0.1', () => {
        outbound.setNoDelay(true);
        let first = true;
        inbound.on('data', (chunk: Buffer) => {
          if (!first) {
            outbound.write(chunk);
            return;
          }
          first = false;
          inbound.pause();
          void (async () => {
            // The 24 bytes of the preface in pieces of 5, then the rest at once.
            for (let at = 0; at < 24; at += 5) {
              outbound.write(chunk.subarray(at, Math.min(at + 5, 24)));
              await new Promise((resolve) => setTimeout(resolve, 5));
            }
            outbound.write(chunk.subarray(24));
            inbound.resume();
          })();
        });
        outbound.pipe(inbound);
        inbound.resume();
      });
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
      outbound.on('error', () => inbound.destroy());
      inbound.on('error', () => outbound.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as { port: number }).port;
    const client = createNchfClient({ baseUrl: `http://127.0.0.1:${port}`, token: TOKEN });
    open.push(async () => {
      await client.close();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    });
    assert.equal((await client.create(dataCreateRequest())).status, 201);
  });

  it('uses the configured apiRoot and path prefix in Location', async () => {
    const h = await harness({ apiRoot: 'https://chf.operator.example/', pathPrefix: '/chf-a' });
    const client = createNchfClient({ baseUrl: h.baseUrl, pathPrefix: '/chf-a', token: TOKEN });
    open.push(() => client.close());
    const created = await client.create(dataCreateRequest());
    assert.equal(created.status, 201);
    assert.equal(created.headers.location, `https://chf.operator.example/chf-a${COLLECTION}/fake-1`);
    assert.equal((await h.client.create(dataCreateRequest())).status, 404);
  });
});

describe('Nchf server over HTTP/1.1 on the same port', () => {
  it('creates, updates and releases a charging session', async () => {
    const h = await harness();
    const created = await fetch1(h.baseUrl, COLLECTION, { body: dataCreateRequest() });
    assert.equal(created.status, 201);
    assert.equal(created.headers['content-type'], 'application/json');
    assert.equal(created.headers.location, `${h.baseUrl}${COLLECTION}/fake-1`);
    assert.equal(
      (created.json as ChargingDataResponse).multipleUnitInformation?.[0]?.grantedUnit?.totalVolume,
      5_000_000,
    );
    const updated = await fetch1(h.baseUrl, `${COLLECTION}/fake-1/update`, { body: dataUpdateRequest() });
    assert.equal(updated.status, 200);
    const released = await fetch1(h.baseUrl, `${COLLECTION}/fake-1/release`, { body: dataReleaseRequest() });
    assert.equal(released.status, 204);
    assert.equal(released.text, '');
    assert.deepEqual(
      h.core.calls.map((c) => c.context.protocol),
      ['http/1.1', 'http/1.1', 'http/1.1'],
    );
    assert.equal(h.server.counters().http2Connections, 0);
    assert.ok(h.server.counters().http1Connections >= 1);
  });

  it('answers the same errors as over HTTP/2', async () => {
    const h = await harness();
    const unknown = await fetch1(h.baseUrl, `${COLLECTION}/fake-42/update`, { body: dataUpdateRequest() });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers['content-type'], 'application/problem+json');
    assert.equal(problemOf(unknown.json).cause, 'CONTEXT_NOT_FOUND');

    const badJson = await fetch1(h.baseUrl, COLLECTION, { body: '{"nfConsumerIdentification":' });
    assert.equal(badJson.status, 400);
    assert.equal(problemOf(badJson.json).cause, 'INVALID_MSG_FORMAT');

    const { nfConsumerIdentification: _omitted, ...withoutConsumer } = dataCreateRequest();
    const missing = await fetch1(h.baseUrl, COLLECTION, { body: withoutConsumer });
    assert.equal(missing.status, 400);
    assert.equal(problemOf(missing.json).cause, 'MANDATORY_IE_MISSING');
    assert.deepEqual(problemOf(missing.json).invalidParams, [
      { param: '/nfConsumerIdentification', reason: 'is a mandatory IE and is missing' },
    ]);

    const anonymous = await fetch1(h.baseUrl, COLLECTION, { body: dataCreateRequest(), token: null });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers['www-authenticate'], 'Bearer');

    const get = await fetch1(h.baseUrl, COLLECTION, { method: 'GET' });
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');

    const nowhere = await fetch1(h.baseUrl, '/', { method: 'GET' });
    assert.equal(nowhere.status, 404);
    // Only the unknown ref reached the core, which refused it.
    assert.deepEqual(
      h.core.calls.map((c) => c.operation),
      ['update'],
    );
  });

  it('answers 413 for a body over the limit and keeps serving', async () => {
    const h = await harness({ maxBodyBytes: 2_000 });
    const big = { ...dataCreateRequest(), serviceSpecificationInfo: 'x'.repeat(5_000) };
    const tooLarge = await fetch1(h.baseUrl, COLLECTION, { body: big });
    assert.equal(tooLarge.status, 413);
    assert.equal(problemOf(tooLarge.json).status, 413);
    assert.equal((await fetch1(h.baseUrl, COLLECTION, { body: dataCreateRequest() })).status, 201);
  });

  it('reads a large body whole (the first bytes put back are not lost)', async () => {
    const h = await harness({ maxBodyBytes: 1_000_000 });
    const padding = 'y'.repeat(600_000);
    const reply = await fetch1(h.baseUrl, COLLECTION, {
      body: { ...smsEventRequest(), serviceSpecificationInfo: padding },
    });
    assert.equal(reply.status, 201);
    assert.equal(h.core.calls[0]!.request.serviceSpecificationInfo, padding);
    // And over HTTP/2 the same.
    const overHttp2 = await h.client.create({ ...smsEventRequest(), serviceSpecificationInfo: padding });
    assert.equal(overHttp2.status, 201);
    assert.equal(h.core.calls[1]!.request.serviceSpecificationInfo, padding);
  });

  it('serves a request whose first byte arrives alone, and keep-alive requests after it', async () => {
    const h = await harness();
    const body = JSON.stringify(smsEventRequest());
    const head = (connection: string): string =>
      `POST ${COLLECTION} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: ${connection}\r\n\r\n`;
    const text = await rawExchange(h.server.address.port, [
      'P',
      head('keep-alive').slice(1) + body,
      head('close') + body,
    ]);
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
    assert.deepEqual(statuses, ['201', '201']);
  });

  it('works with node:http as a client too', async () => {
    const h = await harness();
    const body = JSON.stringify(dataCreateRequest());
    const status = await new Promise<number>((resolve, reject) => {
      const request = http1Request(
        {
          host: '127.0.0.1',
          port: h.server.address.port,
          method: 'POST',
          path: COLLECTION,
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json; charset=utf-8' },
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        },
      );
      request.on('error', reject);
      request.end(body);
    });
    assert.equal(status, 201);
  });
});

describe('Nchf server close', () => {
  it('answers requests in flight, then closes both kinds of connection', async () => {
    const core = new FakeChargingCore<Caller>();
    core.setBalance(SUBSCRIBER, 12_000_000);
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    let proceed!: () => void;
    const gate = new Promise<void>((resolve) => (proceed = resolve));
    const handler: ConvergedChargingHandler<Caller> = {
      async create(request, context) {
        entered();
        await gate;
        return core.create(request, context);
      },
      update: core.update.bind(core),
      release: core.release.bind(core),
    };
    const server = await startNchfServer<Caller>({
      port: 0,
      handler,
      authorise: () => ({ name: 'smf' }),
      clock: new FakeClock(),
    });
    const client = createNchfClient({ baseUrl: `http://127.0.0.1:${server.address.port}`, token: TOKEN });
    const pending = client.create(dataCreateRequest());
    await inHandler;
    const closing = server.close();
    proceed();
    const reply = await pending;
    assert.equal(reply.status, 201);
    await closing;
    await client.close();
    await assert.rejects(
      fetch(`http://127.0.0.1:${server.address.port}${COLLECTION}`, { method: 'POST' }),
      'the port no longer accepts connections',
    );
  });

  it('cuts connections that stay open past the close timeout', async () => {
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    const handler: ConvergedChargingHandler<Caller> = {
      create: () => {
        entered();
        return new Promise(() => undefined); // never answers
      },
      update: () => ({ invocationTimeStamp: 'x', invocationSequenceNumber: 0 }),
      release: () => undefined,
    };
    const server = await startNchfServer<Caller>({
      port: 0,
      handler,
      authorise: () => ({ name: 'smf' }),
      clock: new FakeClock(),
      closeTimeoutMs: 100,
    });
    const client = createNchfClient({ baseUrl: `http://127.0.0.1:${server.address.port}`, timeoutMs: 2_000 });
    const pending = client.create(dataCreateRequest());
    await inHandler;
    await server.close();
    await assert.rejects(pending);
    await client.close();
  });
});
