import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { FakeClock } from '../../kernel/clock.js';
import type { UsageInput } from '../../usage/index.js';
import { accountingToUsage, type SessionCounters } from './accounting.js';
import { signAccountingRequest } from './authenticator.js';
import { RadiusAttributeType as A, integerAttribute, textAttribute } from './codec.js';
import { signedAccountingDatagram, type AccountingFixture } from './fixtures.js';
import {
  startRadiusAccountingServer,
  type RadiusAccountingEvent,
  type RadiusAccountingServer,
  type RadiusAccountingServerOptions,
  type RadiusLogger,
} from './server.js';

const SECRET = 'nas-shared-secret-1';
const SESSION: AccountingFixture = {
  status: 'InterimUpdate',
  sessionId: 'S-42',
  userName: 'bob@isp.example',
  nasIdentifier: 'bng-test',
  sessionTimeSec: 300,
  inputOctets: 1_000n,
  outputOctets: 2_000n,
};

interface Harness {
  server: RadiusAccountingServer;
  clock: FakeClock;
  nas: Socket;
  send(datagram: Buffer): void;
  /** The next response, or undefined when none comes within `timeoutMs`. */
  nextResponse(timeoutMs?: number): Promise<Buffer | undefined>;
  logs: { level: string; object: object; message: string }[];
}

const open: Harness[] = [];

afterEach(async () => {
  for (const harness of open.splice(0)) {
    harness.nas.close();
    await harness.server.close();
  }
});

async function harness(
  handle: RadiusAccountingServerOptions['handle'],
  options: Partial<RadiusAccountingServerOptions> = {},
): Promise<Harness> {
  const clock = new FakeClock('2026-03-01T10:00:00.000Z');
  const logs: Harness['logs'] = [];
  const logger: RadiusLogger = {
    debug: (object, message) => logs.push({ level: 'debug', object, message }),
    info: (object, message) => logs.push({ level: 'info', object, message }),
    warn: (object, message) => logs.push({ level: 'warn', object, message }),
    error: (object, message) => logs.push({ level: 'error', object, message }),
  };
  const server = await startRadiusAccountingServer({
    port: 0,
    clients: [{ address: '127.0.0.1', secret: SECRET, name: 'test-nas' }],
    handle,
    clock,
    logger,
    ...options,
  });
  assert.equal(server.address.host, '127.0.0.1');
  assert.ok(server.address.port > 0);
  const nas = createSocket('udp4');
  await new Promise<void>((resolve) => nas.bind(0, '127.0.0.1', resolve));
  const queue: Buffer[] = [];
  const waiters: ((message: Buffer) => void)[] = [];
  nas.on('message', (message) => {
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  const h: Harness = {
    server,
    clock,
    nas,
    logs,
    send: (datagram) => nas.send(datagram, server.address.port, '127.0.0.1'),
    nextResponse: (timeoutMs = 2000) => {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve) => {
        const waiter = (message: Buffer): void => {
          clearTimeout(timer);
          resolve(message);
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          resolve(undefined);
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
  };
  open.push(h);
  return h;
}

/** Checks an Accounting-Response independently of the code under test. */
function assertResponseTo(request: Buffer, response: Buffer | undefined, secret = SECRET): void {
  assert.ok(response, 'expected an Accounting-Response');
  assert.equal(response[0], 5, 'code Accounting-Response');
  assert.equal(response[1], request[1], 'same identifier');
  assert.equal(response.readUInt16BE(2), response.length);
  const expected = createHash('md5')
    .update(response.subarray(0, 4))
    .update(request.subarray(4, 20))
    .update(response.subarray(20))
    .update(secret)
    .digest();
  assert.deepEqual(response.subarray(4, 20), expected, 'Response Authenticator');
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('radius accounting server', () => {
  it('stores a session end to end over UDP and answers each report after the sink', async () => {
    // A sink as a workflow would write it: counters per session, usage out.
    const counters = new Map<string, SessionCounters>();
    const usages: UsageInput[] = [];
    const h = await harness(async (event) => {
      const outcome = accountingToUsage(
        event,
        {},
        event.sessionKey ? counters.get(event.sessionKey) : undefined,
      );
      if (outcome.kind === 'usage' || outcome.kind === 'session-start')
        counters.set(outcome.sessionKey, outcome.counters);
      if (outcome.kind === 'usage') usages.push(outcome.usage);
    });
    const reports: [AccountingFixture, number][] = [
      [{ ...SESSION, status: 'Start', sessionTimeSec: 0, inputOctets: 0n, outputOctets: 0n }, 1],
      [{ ...SESSION, sessionTimeSec: 300, inputOctets: 5n * 2n ** 32n + 1n, outputOctets: 2_000n }, 2],
      [
        {
          ...SESSION,
          status: 'Stop',
          sessionTimeSec: 420,
          inputOctets: 5n * 2n ** 32n + 11n,
          outputOctets: 2_500n,
        },
        3,
      ],
    ];
    for (const [fixture, identifier] of reports) {
      const datagram = signedAccountingDatagram(fixture, identifier, SECRET);
      h.send(datagram);
      assertResponseTo(datagram, await h.nextResponse());
      h.clock.advanceMs(60_000);
    }
    assert.deepEqual(
      usages.map((u) => [u.identity, u.durationSec, u.volumeUpBytes, u.volumeDownBytes, u.sourceRecordId]),
      [
        // 5 × 2^32 + 1 = 21_474_836_481
        ['bob@isp.example', 300, 21_474_836_481, 2_000, 'S-42:bng-test:interim-update:300:21474838481'],
        ['bob@isp.example', 120, 10, 500, 'S-42:bng-test:stop:420:21474838991'],
      ],
    );
    assert.deepEqual(h.server.counters(), {
      received: 3,
      accepted: 3,
      duplicates: 0,
      duplicatesInFlight: 0,
      dropped: {
        malformed: 0,
        unexpected_code: 0,
        unknown_client: 0,
        bad_authenticator: 0,
        handler_failed: 0,
        overloaded: 0,
        closing: 0,
      },
    });
  });

  it('hands the sink the request with its client, status, session key and raw octets', async () => {
    const events: RadiusAccountingEvent[] = [];
    const h = await harness(async (event) => {
      events.push(event);
    });
    const datagram = signedAccountingDatagram(SESSION, 7, SECRET);
    h.send(Buffer.concat([datagram, Buffer.from([0, 0, 0])])); // padding is ignored
    assertResponseTo(datagram, await h.nextResponse());
    const event = events[0]!;
    assert.deepEqual(event.client, { name: 'test-nas', address: '127.0.0.1' });
    assert.equal(event.sourceAddress, '127.0.0.1');
    assert.equal(event.status, 'interim-update');
    assert.equal(event.sessionKey, 'bng-test:S-42');
    assert.equal(event.receivedMs, Date.parse('2026-03-01T10:00:00.000Z'));
    assert.deepEqual(Buffer.from(event.raw), datagram);
    assert.ok(!JSON.stringify(event).includes(SECRET));
  });

  it('answers a retransmission from the cache without calling the sink again', async () => {
    let calls = 0;
    const h = await harness(async () => {
      calls += 1;
    });
    const datagram = signedAccountingDatagram(SESSION, 11, SECRET);
    h.send(datagram);
    const first = await h.nextResponse();
    assertResponseTo(datagram, first);
    h.clock.advanceMs(5_000);
    h.send(datagram);
    const second = await h.nextResponse();
    assert.deepEqual(second, first);
    assert.equal(calls, 1);
    assert.equal(h.server.counters().duplicates, 1);
    // Past the window the request is new again (the sink's record id deduplicates it).
    h.clock.advanceMs(60_000);
    h.send(datagram);
    assertResponseTo(datagram, await h.nextResponse());
    assert.equal(calls, 2);
  });

  it('does not handle a request twice while the first copy is in flight', async () => {
    const gate = deferred();
    let calls = 0;
    const h = await harness(async () => {
      calls += 1;
      await gate.promise;
    });
    const datagram = signedAccountingDatagram(SESSION, 12, SECRET);
    h.send(datagram);
    await until(() => calls === 1, 'the first call');
    h.send(datagram);
    h.send(datagram);
    await until(() => h.server.counters().duplicatesInFlight === 2, 'the in-flight duplicates');
    assert.equal(await h.nextResponse(100), undefined, 'no response before the sink resolves');
    gate.resolve();
    assertResponseTo(datagram, await h.nextResponse());
    assert.equal(await h.nextResponse(100), undefined, 'one response only');
    assert.equal(calls, 1);
  });

  it('withholds the response when the sink throws, so the NAS retransmits', async () => {
    let failing = true;
    let calls = 0;
    const h = await harness(async () => {
      calls += 1;
      if (failing) throw new Error('database is locked');
    });
    const datagram = signedAccountingDatagram(SESSION, 13, SECRET);
    h.send(datagram);
    assert.equal(await h.nextResponse(300), undefined);
    assert.equal(h.server.counters().dropped.handler_failed, 1);
    assert.equal(h.server.counters().accepted, 0);
    const logged = h.logs.find((log) => log.level === 'error');
    assert.match(JSON.stringify(logged), /database is locked/);
    // The retransmission is handled afresh, not answered from a cache.
    failing = false;
    h.send(datagram);
    assertResponseTo(datagram, await h.nextResponse());
    assert.equal(calls, 2);
  });

  it('drops packets from unknown clients without answering, logging no secret', async () => {
    let calls = 0;
    const h = await harness(
      async () => {
        calls += 1;
      },
      { clients: [{ address: '192.0.2.0/24', secret: SECRET, name: 'elsewhere' }] },
    );
    const datagram = signedAccountingDatagram(SESSION, 14, SECRET);
    h.send(datagram);
    h.send(datagram);
    assert.equal(await h.nextResponse(200), undefined);
    await until(() => h.server.counters().dropped.unknown_client === 2, 'two drops');
    assert.equal(calls, 0);
    const warnings = h.logs.filter((log) => log.level === 'warn');
    assert.equal(warnings.length, 1, 'drops are logged at most once a minute per source');
    assert.ok(!JSON.stringify(h.logs).includes(SECRET));
  });

  it('drops bad authenticators, malformed datagrams and other packet codes', async () => {
    let calls = 0;
    const h = await harness(async () => {
      calls += 1;
    });
    h.send(signedAccountingDatagram(SESSION, 15, 'another-secret'));
    const tampered = signedAccountingDatagram(SESSION, 16, SECRET);
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 0xff;
    h.send(tampered);
    h.send(Buffer.from('not radius at all'));
    const truncated = signedAccountingDatagram(SESSION, 17, SECRET);
    h.send(truncated.subarray(0, truncated.length - 3));
    const accessRequest = Buffer.from(signedAccountingDatagram(SESSION, 18, SECRET));
    accessRequest[0] = 1;
    h.send(accessRequest);
    // Authentic, but without Acct-Status-Type: nothing to account.
    h.send(
      signAccountingRequest({ identifier: 19, attributes: [textAttribute(A.AcctSessionId, 'x')] }, SECRET),
    );
    await until(() => h.server.counters().received === 6, 'six datagrams');
    assert.equal(await h.nextResponse(200), undefined);
    const { dropped } = h.server.counters();
    assert.deepEqual([dropped.bad_authenticator, dropped.malformed, dropped.unexpected_code], [2, 3, 1]);
    assert.equal(calls, 0);
    assert.ok(!JSON.stringify(h.logs).includes(SECRET));
  });

  it('copies Proxy-State into the response, in order', async () => {
    const h = await harness(async () => {});
    const datagram = signedAccountingDatagram(
      {
        ...SESSION,
        attributes: [
          textAttribute(A.ProxyState, 'hop-1'),
          integerAttribute(A.AcctAuthentic, 1),
          textAttribute(A.ProxyState, 'hop-2'),
        ],
      },
      20,
      SECRET,
    );
    h.send(datagram);
    const response = await h.nextResponse();
    assertResponseTo(datagram, response);
    assert.deepEqual(
      response!.subarray(20),
      Buffer.from([A.ProxyState, 7, ...Buffer.from('hop-1'), A.ProxyState, 7, ...Buffer.from('hop-2')]),
    );
  });

  it('handles one session in arrival order and different sessions concurrently', async () => {
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const started: string[] = [];
    const h = await harness(async (event) => {
      const label = `${event.sessionKey}#${event.packet.identifier}`;
      started.push(label);
      const gate = deferred();
      gates.set(label, gate);
      await gate.promise;
    });
    h.send(signedAccountingDatagram({ ...SESSION, sessionTimeSec: 300 }, 21, SECRET));
    h.send(signedAccountingDatagram({ ...SESSION, sessionTimeSec: 600 }, 22, SECRET));
    h.send(signedAccountingDatagram({ ...SESSION, sessionId: 'S-43' }, 23, SECRET));
    await until(() => started.length === 2, 'two sessions started');
    assert.deepEqual(started, ['bng-test:S-42#21', 'bng-test:S-43#23']);
    gates.get('bng-test:S-42#21')!.resolve();
    await until(() => started.length === 3, 'the second report of S-42');
    assert.equal(started[2], 'bng-test:S-42#22');
    gates.get('bng-test:S-42#22')!.resolve();
    gates.get('bng-test:S-43#23')!.resolve();
    const identifiers = [await h.nextResponse(), await h.nextResponse(), await h.nextResponse()].map(
      (r) => r?.[1],
    );
    assert.deepEqual(identifiers.sort(), [21, 22, 23]);
  });

  it('closes gracefully: requests in flight are answered, later ones dropped', async () => {
    const gate = deferred();
    let calls = 0;
    const h = await harness(async () => {
      calls += 1;
      await gate.promise;
    });
    const datagram = signedAccountingDatagram(SESSION, 24, SECRET);
    h.send(datagram);
    await until(() => calls === 1, 'the call');
    let closed = false;
    const closing = h.server.close().then(() => (closed = true));
    h.send(signedAccountingDatagram(SESSION, 25, SECRET));
    await until(() => h.server.counters().dropped.closing === 1, 'the late request dropped');
    assert.equal(closed, false);
    gate.resolve();
    assertResponseTo(datagram, await h.nextResponse());
    await closing;
    assert.equal(closed, true);
    assert.equal(calls, 1);
  });

  it('refuses to start on an invalid clients table or a port in use', async () => {
    await assert.rejects(
      startRadiusAccountingServer({
        port: 0,
        clients: [{ address: 'nas.example', secret: 's' }],
        handle: async () => {},
        clock: new FakeClock(),
      }),
      /not an IP address/,
    );
    const h = await harness(async () => {});
    await assert.rejects(
      startRadiusAccountingServer({
        port: h.server.address.port,
        clients: [],
        handle: async () => {},
        clock: new FakeClock(),
      }),
      /EADDRINUSE/,
    );
  });
});
