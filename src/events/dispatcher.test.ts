import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeClock, msFromInstant } from '../kernel/clock.js';
import { newId } from '../kernel/ids.js';
import type { Executor } from '../storage/database.js';
import { insertTenant } from '../tenancy/store.js';
import { describeEachDialect } from '../testing/databases.js';
import { WebhookDispatcher, type DispatcherLogger, type WebhookDispatcherOptions } from './dispatcher.js';
import { verifySignature } from './signing.js';
import {
  createSubscription,
  deleteSubscription,
  enqueueEvent,
  fanOutPending,
  listAttempts,
  listDeliveries,
  retryDelivery,
  type WebhookDelivery,
} from './store.js';

interface ReceivedRequest {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly verified: boolean;
}

/** What the receiver does with the n-th request (0-based): answer a status, or never answer. */
type Behaviour = (index: number) => number | 'hang';

interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly requests: ReceivedRequest[];
  /** The most requests it was answering at the same time. */
  readonly maxInFlight: number;
  secret: string;
  close(): Promise<void>;
}

/** Receivers still listening, closed after each suite even when a test failed midway. */
const openReceivers = new Set<Receiver>();

/** A real HTTP receiver on 127.0.0.1 that verifies each signature against the fake clock. */
async function startReceiver(
  clock: FakeClock,
  behaviour: Behaviour,
  options: { port?: number; delayMs?: number } = {},
): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const receiver = { requests, secret: '', maxInFlight: 0 } as {
    -readonly [K in keyof Receiver]: Receiver[K];
  };
  let inFlight = 0;
  const server: Server = createServer((req, res) => {
    inFlight += 1;
    receiver.maxInFlight = Math.max(receiver.maxInFlight, inFlight);
    res.on('close', () => {
      inFlight -= 1;
    });
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = req.headers['tollgate-signature'];
      const verified = verifySignature(
        typeof header === 'string' ? header : undefined,
        body,
        receiver.secret,
        Math.floor(clock.nowMs() / 1000),
      );
      const index = requests.length;
      requests.push({ headers: req.headers, body, verified });
      const answer = behaviour(index);
      if (answer === 'hang') return;
      setTimeout(() => {
        res.writeHead(verified ? answer : 401, { 'content-type': 'text/plain' });
        res.end(verified ? `answer ${answer}` : 'bad signature');
      }, options.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  receiver.port = bound;
  receiver.url = `http://127.0.0.1:${bound}/hooks`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      openReceivers.delete(receiver);
      if (!server.listening) return resolve();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  openReceivers.add(receiver);
  return receiver;
}

/** A port that nothing listens on: bound once to get a free number, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function recordingLogger(): DispatcherLogger & { lines: string[] } {
  const lines: string[] = [];
  const log = (obj: Record<string, unknown>, msg: string) => lines.push(`${msg} ${JSON.stringify(obj)}`);
  return { lines, info: log, warn: log, error: log };
}

describeEachDialect('webhook dispatcher', (db) => {
  const clock = new FakeClock('2026-04-01T08:00:00.000Z');
  let tenantId = '';

  before(async () => {
    tenantId = newId('ten', clock);
    await insertTenant(db().db, {
      id: tenantId,
      slug: 'dispatch',
      name: 'Dispatch',
      status: 'active',
      settings: { defaultCurrency: 'EUR', timeZone: 'UTC', locale: 'en' },
      createdAt: clock.now(),
      updatedAt: clock.now(),
    });
  });

  const dispatchers: WebhookDispatcher[] = [];
  after(async () => {
    for (const d of dispatchers) await d.stop();
    for (const receiver of [...openReceivers]) await receiver.close();
  });

  function dispatcher(options: Partial<WebhookDispatcherOptions> = {}): WebhookDispatcher {
    // random = 0.5 makes each wait exactly half the backoff ceiling, so the schedule is checkable.
    const d = new WebhookDispatcher({
      database: db(),
      clock,
      random: () => 0.5,
      timeoutMs: 2000,
      ...options,
    });
    dispatchers.push(d);
    return d;
  }

  async function enqueue(executor: Executor, type = 'invoice.issued', payload: unknown = { total: '12.50' }) {
    const id = newId('evt', clock);
    await enqueueEvent(executor, {
      id,
      tenantId,
      type,
      entityType: 'invoice',
      entityId: 'inv_1',
      payload,
      occurredAt: clock.now(),
    });
    return id;
  }

  async function deliveriesOf(subscriptionId: string): Promise<WebhookDelivery[]> {
    return listDeliveries(db().db, tenantId, { subscriptionId, limit: 100 });
  }

  async function only(subscriptionId: string): Promise<WebhookDelivery> {
    const list = await deliveriesOf(subscriptionId);
    assert.equal(list.length, 1);
    return list[0]!;
  }

  it('retries a 503 with backoff until the receiver accepts, logging every attempt', async () => {
    const receiver = await startReceiver(clock, (n) => (n < 3 ? 503 : 200));
    const logger = recordingLogger();
    const d = dispatcher({ logger });
    const { subscription, secret } = await createSubscription(db().db, clock, tenantId, {
      url: receiver.url,
    });
    receiver.secret = secret;
    const eventId = await enqueue(db().db);

    const expectedWaits = [5_000, 10_000, 20_000]; // half of 10 s, 20 s, 40 s
    for (const [i, wait] of expectedWaits.entries()) {
      const report = await d.runOnce();
      assert.equal(report.attempted, 1, `attempt ${i + 1}`);
      assert.equal(report.retrying, 1);
      const delivery = await only(subscription.id);
      assert.equal(delivery.status, 'pending');
      assert.equal(delivery.attempts, i + 1);
      assert.equal(delivery.lastStatusCode, 503);
      assert.equal(msFromInstant(delivery.nextAttemptAt) - clock.nowMs(), wait);
      // Not due yet: a poll a moment before the next attempt sends nothing.
      clock.advanceMs(wait - 1);
      assert.equal((await d.runOnce()).attempted, 0);
      clock.advanceMs(1);
    }
    const report = await d.runOnce();
    assert.equal(report.succeeded, 1);

    const delivery = await only(subscription.id);
    assert.equal(delivery.status, 'succeeded');
    assert.equal(delivery.attempts, 4);
    assert.equal(delivery.deliveredAt, clock.now());
    const attempts = await listAttempts(db().db, tenantId, delivery.id);
    assert.deepEqual(
      attempts.map((a) => [a.attempt, a.statusCode]),
      [
        [1, 503],
        [2, 503],
        [3, 503],
        [4, 200],
      ],
    );
    assert.equal(attempts[3]!.responseExcerpt, 'answer 200');

    assert.equal(receiver.requests.length, 4);
    assert.ok(
      receiver.requests.every((r) => r.verified),
      'every request carries a valid signature',
    );
    const last = receiver.requests[3]!;
    assert.equal(last.headers['tollgate-event-id'], eventId);
    assert.equal(last.headers['tollgate-event-type'], 'invoice.issued');
    assert.equal(last.headers['tollgate-delivery-id'], delivery.id);
    assert.equal(last.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(last.body), {
      id: eventId,
      type: 'invoice.issued',
      occurredAt: delivery.createdAt,
      tenantId,
      entity: { type: 'invoice', id: 'inv_1' },
      data: { total: '12.50' },
    });
    assert.ok(!logger.lines.some((line) => line.includes(secret)), 'the secret is never logged');
    assert.ok(logger.lines.some((line) => line.startsWith('webhook delivered')));

    await deleteSubscription(db(), tenantId, subscription.id);
    await receiver.close();
  });

  it('keeps the delivery while the receiver is down and delivers it when it comes back', async () => {
    const port = await closedPort();
    const d = dispatcher();
    const { subscription, secret } = await createSubscription(db().db, clock, tenantId, {
      url: `http://127.0.0.1:${port}/hooks`,
    });
    const eventId = await enqueue(db().db);

    let previousDue = 0;
    for (let attempt = 1; attempt <= 4; attempt++) {
      const report = await d.runOnce();
      assert.equal(report.retrying, 1);
      const delivery = await only(subscription.id);
      assert.equal(delivery.status, 'pending');
      assert.equal(delivery.attempts, attempt);
      assert.equal(delivery.lastStatusCode, undefined);
      assert.match(delivery.lastError ?? '', /ECONNREFUSED/);
      const due = msFromInstant(delivery.nextAttemptAt);
      assert.ok(due - clock.nowMs() > previousDue, 'the wait grows with each attempt');
      previousDue = due - clock.nowMs();
      clock.set(due);
    }

    const receiver = await startReceiver(clock, () => 204, { port });
    receiver.secret = secret;
    assert.equal((await d.runOnce()).succeeded, 1);
    const delivery = await only(subscription.id);
    assert.equal(delivery.status, 'succeeded');
    assert.equal(delivery.attempts, 5);
    assert.equal(receiver.requests.length, 1);
    assert.ok(receiver.requests[0]!.verified);
    assert.equal(JSON.parse(receiver.requests[0]!.body).id, eventId);
    const attempts = await listAttempts(db().db, tenantId, delivery.id);
    assert.equal(attempts.length, 5);
    assert.ok(attempts.slice(0, 4).every((a) => a.statusCode === undefined && a.error !== undefined));

    await deleteSubscription(db(), tenantId, subscription.id);
    await receiver.close();
  });

  it('marks a delivery failed after the last attempt, and delivers it when retried by hand', async () => {
    let healthy = false;
    const receiver = await startReceiver(clock, () => (healthy ? 200 : 500));
    const d = dispatcher({ backoff: { maxAttempts: 3 } });
    const { subscription, secret } = await createSubscription(db().db, clock, tenantId, {
      url: receiver.url,
    });
    receiver.secret = secret;
    await enqueue(db().db);

    for (let attempt = 1; attempt <= 3; attempt++) {
      await d.runOnce();
      const delivery = await only(subscription.id);
      assert.equal(delivery.attempts, attempt);
      assert.equal(delivery.status, attempt < 3 ? 'pending' : 'failed');
      clock.advanceMs(60 * 60 * 1000);
    }
    assert.equal((await d.runOnce()).attempted, 0, 'a failed delivery is not retried by itself');

    healthy = true;
    const failed = await only(subscription.id);
    await retryDelivery(db().db, tenantId, failed.id, clock.now());
    assert.equal((await d.runOnce()).succeeded, 1);
    const delivery = await only(subscription.id);
    assert.equal(delivery.status, 'succeeded');
    assert.equal(delivery.attempts, 4);
    assert.deepEqual(
      (await listAttempts(db().db, tenantId, delivery.id)).map((a) => a.statusCode),
      [500, 500, 500, 200],
    );

    await deleteSubscription(db(), tenantId, subscription.id);
    await receiver.close();
  });

  it('records a timeout as a failed attempt', async () => {
    const receiver = await startReceiver(clock, () => 'hang');
    const d = dispatcher({ timeoutMs: 200 });
    const { subscription, secret } = await createSubscription(db().db, clock, tenantId, {
      url: receiver.url,
    });
    receiver.secret = secret;
    await enqueue(db().db);

    assert.equal((await d.runOnce()).retrying, 1);
    const delivery = await only(subscription.id);
    assert.equal(delivery.status, 'pending');
    assert.match(delivery.lastError ?? '', /timeout/);
    assert.equal(receiver.requests.length, 1);

    await deleteSubscription(db(), tenantId, subscription.id);
    await receiver.close();
  });

  it('delivers in the background between start() and stop(), with bounded concurrency', async () => {
    const receiver = await startReceiver(clock, () => 200, { delayMs: 30 });
    const d = dispatcher({ intervalMs: 10, concurrency: 3, batchSize: 4 });
    const { subscription, secret } = await createSubscription(db().db, clock, tenantId, {
      url: receiver.url,
    });
    receiver.secret = secret;
    const eventIds: string[] = [];
    for (let i = 0; i < 10; i++) eventIds.push(await enqueue(db().db, 'invoice.issued', { i }));

    d.start();
    const deadline = performance.now() + 15_000;
    while (receiver.requests.length < 10 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await d.stop();

    const received = receiver.requests.map((r) => JSON.parse(r.body).id as string).sort();
    assert.deepEqual(received, [...eventIds].sort(), 'each event delivered exactly once');
    assert.ok(receiver.maxInFlight <= 3, `at most 3 requests at once, saw ${receiver.maxInFlight}`);
    assert.ok(receiver.maxInFlight >= 2, 'requests do run concurrently');
    assert.ok(receiver.requests.every((r) => r.verified));
    const deliveries = await deliveriesOf(subscription.id);
    assert.ok(deliveries.every((x) => x.status === 'succeeded'));
    assert.equal((await fanOutPending(db(), clock, 100)).events, 0);

    await deleteSubscription(db(), tenantId, subscription.id);
    await receiver.close();
  });

  it('stop() waits for the requests in flight and records them', async () => {
    const receiver = await startReceiver(clock, () => 200, { delayMs: 200 });
    const d = dispatcher({ intervalMs: 10 });
    const { subscription, secret } = await createSubscription(db().db, clock, tenantId, {
      url: receiver.url,
    });
    receiver.secret = secret;
    await enqueue(db().db);

    d.start();
    const deadline = performance.now() + 15_000;
    while (receiver.requests.length === 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await d.stop();
    const delivery = await only(subscription.id);
    assert.equal(delivery.status, 'succeeded', 'the answer that arrived after stop() was called is recorded');
    assert.equal((await listAttempts(db().db, tenantId, delivery.id)).length, 1);

    await deleteSubscription(db(), tenantId, subscription.id);
    await receiver.close();
  });

  it('lets two dispatchers share the work without sending any event twice', async () => {
    const receiver = await startReceiver(clock, () => 200, { delayMs: 5 });
    const first = dispatcher({ concurrency: 4 });
    const second = dispatcher({ concurrency: 4 });
    const { subscription, secret } = await createSubscription(db().db, clock, tenantId, {
      url: receiver.url,
    });
    receiver.secret = secret;
    const eventIds: string[] = [];
    for (let i = 0; i < 12; i++) eventIds.push(await enqueue(db().db, 'invoice.issued', { i }));

    const reports = await Promise.all([first.runOnce(), second.runOnce()]);
    assert.equal(reports[0]!.succeeded + reports[1]!.succeeded, 12);
    const received = receiver.requests.map((r) => JSON.parse(r.body).id as string).sort();
    assert.deepEqual(received, [...eventIds].sort());

    await deleteSubscription(db(), tenantId, subscription.id);
    await receiver.close();
  });
});
