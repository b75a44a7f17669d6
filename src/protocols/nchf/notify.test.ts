import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createServer as createHttp2Server,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import { createServer as createNetServer } from 'node:net';
import type { ChargingNotifyRequest } from './model.js';
import { createChargingNotifier, reauthorizationRequest, type ChargingNotifier } from './notify.js';
import { parseChargingNotifyRequest } from './schema.js';

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: ChargingNotifyRequest;
}

/** What the consumer (an SMF's notification endpoint) does with the n-th notification it gets. */
type Behaviour = (index: number, stream: ServerHttp2Stream) => void;

interface Consumer {
  readonly server: Http2Server;
  readonly origin: string;
  readonly received: Received[];
  sessions: number;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function consumer(
  behaviour: Behaviour = (_, stream) => stream.respond({ ':status': 204 }, { endStream: true }),
): Promise<Consumer> {
  const server = createHttp2Server();
  const state: Consumer = { server, origin: '', received: [], sessions: 0 };
  server.on('session', () => (state.sessions += 1));
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const parsed = parseChargingNotifyRequest(Buffer.concat(chunks).toString('utf8'));
      assert.ok(parsed.ok, 'the notifier sends a valid ChargingNotifyRequest');
      state.received.push({ headers, body: parsed.value });
      behaviour(state.received.length - 1, stream);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  (state as { origin: string }).origin = `http://127.0.0.1:${port}`;
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Sessions the test left open (a stream never answered) must not keep the server alive.
        setTimeout(resolve, 200).unref();
      }),
  );
  return state;
}

function notifier(options: Parameters<typeof createChargingNotifier>[0] = {}): ChargingNotifier {
  const created = createChargingNotifier({ timeoutMs: 500, retryDelayMs: 10, ...options });
  cleanups.push(() => created.close());
  return created;
}

describe('charging notifier', () => {
  it('POSTs a REAUTHORIZATION to the notifyUri over HTTP/2 and reports it delivered on 204', async () => {
    const smf = await consumer();
    const outcome = await notifier({ token: () => 'chf-token' }).reauthorize(
      `${smf.origin}/nsmf-callback/v1/charging/session-5?pdu=5`,
      [10, 100],
    );
    assert.deepEqual(outcome, { delivered: true, status: 204, attempts: 1 });
    assert.equal(smf.received.length, 1);
    const [notification] = smf.received;
    assert.equal(notification!.headers[':method'], 'POST');
    assert.equal(notification!.headers[':path'], '/nsmf-callback/v1/charging/session-5?pdu=5');
    assert.equal(notification!.headers['content-type'], 'application/json');
    assert.equal(notification!.headers.authorization, 'Bearer chf-token');
    assert.deepEqual(notification!.body, {
      notificationType: 'REAUTHORIZATION',
      reauthorizationDetails: [{ ratingGroup: 10 }, { ratingGroup: 100 }],
    });
  });

  it('accepts 200 with a ChargingNotifyResponse as delivered', async () => {
    const smf = await consumer((_, stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.end('{"invocationResult":{}}');
    });
    const outcome = await notifier().notify(`${smf.origin}/notify`, { notificationType: 'ABORT_CHARGING' });
    assert.deepEqual(outcome, { delivered: true, status: 200, attempts: 1 });
  });

  it('retries once after a 5xx', async () => {
    const smf = await consumer((index, stream) =>
      stream.respond({ ':status': index === 0 ? 503 : 204 }, { endStream: true }),
    );
    const outcome = await notifier().reauthorize(`${smf.origin}/notify`);
    assert.deepEqual(outcome, { delivered: true, status: 204, attempts: 2 });
    assert.deepEqual(
      smf.received.map((r) => r.body),
      [reauthorizationRequest(), reauthorizationRequest()],
    );
  });

  it('does not retry after a 4xx: the consumer refused', async () => {
    const smf = await consumer((_, stream) => stream.respond({ ':status': 404 }, { endStream: true }));
    const outcome = await notifier().reauthorize(`${smf.origin}/notify`, [10]);
    assert.equal(outcome.delivered, false);
    if (!outcome.delivered) {
      assert.equal(outcome.reason, 'refused');
      assert.equal(outcome.status, 404);
      assert.equal(outcome.attempts, 1);
    }
    assert.equal(smf.received.length, 1);
  });

  it('retries once after a timeout, and gives up after two', async () => {
    const slowOnce = await consumer((index, stream) => {
      if (index > 0) stream.respond({ ':status': 204 }, { endStream: true });
    });
    const first = await notifier({ timeoutMs: 100 }).reauthorize(`${slowOnce.origin}/notify`);
    assert.deepEqual(first, { delivered: true, status: 204, attempts: 2 });

    const silent = await consumer(() => undefined);
    const second = await notifier({ timeoutMs: 100 }).reauthorize(`${silent.origin}/notify`);
    assert.equal(second.delivered, false);
    if (!second.delivered) {
      assert.equal(second.reason, 'timeout');
      assert.equal(second.attempts, 2);
    }
  });

  it('reports an unreachable consumer after the retry', async () => {
    // A port that was just free: nothing listens there.
    const probe = createNetServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const outcome = await notifier().reauthorize(`http://127.0.0.1:${port}/notify`);
    assert.equal(outcome.delivered, false);
    if (!outcome.delivered) {
      assert.equal(outcome.reason, 'unreachable');
      assert.equal(outcome.attempts, 2);
    }
  });

  it('refuses a notifyUri that is not http(s), without sending', async () => {
    const client = notifier();
    for (const uri of ['ftp://smf.example/notify', 'not a uri']) {
      const outcome = await client.reauthorize(uri);
      assert.equal(outcome.delivered, false);
      if (!outcome.delivered) {
        assert.equal(outcome.reason, 'invalid_uri');
        assert.equal(outcome.attempts, 0);
      }
    }
  });

  it('keeps one connection per consumer across notifications', async () => {
    const smf = await consumer();
    const client = notifier();
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => client.reauthorize(`${smf.origin}/notify/session-${i}`, [10])),
    );
    assert.ok(outcomes.every((o) => o.delivered));
    assert.equal((await client.reauthorize(`${smf.origin}/notify/session-late`)).delivered, true);
    assert.equal(smf.sessions, 1);
    assert.equal(smf.received.length, 11);
  });
});
