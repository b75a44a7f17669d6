import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../kernel/clock.js';
import { fail } from '../../kernel/errors.js';
import { describeEachDialect } from '../../testing/databases.js';
import { loadDemoFiles } from '../../app/demo-files.js';
import { seedDemoIfEmpty } from '../../workflows/demo.js';
import { findTenant } from '../../workflows/tenants.js';
import { ChargingEngine, type StarvedSessions } from '../../workflows/charging.js';
import { SubscriberDirectory } from '../../workflows/usage-directory.js';
import { connectDiameterClient, type ClientCreditControlRequest, type DiameterClient } from './client.js';
import { findAvps, numberValue, stringValue } from './codec.js';
import type { DiameterLogger } from './connection.js';
import type { ReAuthAnswer } from './credit-control.js';
import { DiameterErrors } from './errors.js';
import { gyCreditControlHandler } from './gy.js';
import { gyReAuthorizer } from './reauth.js';
import { ResultCode } from './result-codes.js';
import { startDiameterServer, type DiameterServer, type SessionReAuthRequest } from './server.js';

interface Logged {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly object: Record<string, unknown>;
  readonly message: string;
}

function capturingLogger(): DiameterLogger & { readonly lines: Logged[] } {
  const lines: Logged[] = [];
  const at =
    (level: Logged['level']) =>
    (object: object, message: string): void => {
      lines.push({ level, object: object as Record<string, unknown>, message });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function rar(sessionId: string, resultCode: number): ReAuthAnswer {
  return {
    sessionId,
    resultCode,
    originHost: 'pgw.test',
    originRealm: 'test',
    message: { flags: 0, commandCode: 258, applicationId: 4, hopByHopId: 1, endToEndId: 1, avps: [] },
  };
}

const event = (sessions: StarvedSessions['sessions'], tenantId = 'tenant-1'): StarvedSessions => ({
  tenantId,
  accountId: 'acc-1',
  sessions,
});
const session = (sessionId: string, ratingGroups: number[], protocol = 'diameter') => ({
  sessionId,
  protocol,
  notifyUri: undefined,
  ratingGroups,
});

describe('diameter: re-authorising starved sessions', () => {
  it('sends one RAR per Diameter session of its tenant, naming the rating group when there is one', async () => {
    const calls: Array<{ sessionId: string; request: SessionReAuthRequest | undefined }> = [];
    const reAuthorizer = gyReAuthorizer({
      tenantId: 'tenant-1',
      server: {
        reAuthorizeSession: (sessionId, request) => {
          calls.push({ sessionId, request });
          return Promise.resolve(rar(sessionId, ResultCode.DIAMETER_SUCCESS));
        },
      },
    });
    reAuthorizer.starvedSessionsCredited(
      event([
        session('one-group', [10]),
        session('two-groups', [10, 20]),
        session('nchf', [10], 'nchf'),
        session('api', [10], 'api'),
      ]),
    );
    reAuthorizer.starvedSessionsCredited(event([session('other-tenant', [10])], 'tenant-2'));
    await reAuthorizer.settled();
    assert.deepEqual(calls, [
      { sessionId: 'one-group', request: { ratingGroup: 10 } },
      // RFC 4006 section 10.2: one Rating-Group at most; without it the whole session.
      { sessionId: 'two-groups', request: {} },
    ]);
  });

  it('logs the answers by what they mean, and never throws or waits', async () => {
    const logger = capturingLogger();
    const answers: Record<string, () => Promise<ReAuthAnswer | undefined>> = {
      ok: () => Promise.resolve(rar('ok', ResultCode.DIAMETER_SUCCESS)),
      limited: () => Promise.resolve(rar('limited', ResultCode.DIAMETER_LIMITED_SUCCESS)),
      gone: () => Promise.resolve(rar('gone', ResultCode.DIAMETER_UNKNOWN_SESSION_ID)),
      refused: () => Promise.resolve(rar('refused', ResultCode.DIAMETER_UNABLE_TO_COMPLY)),
      unrouted: () => Promise.resolve(undefined),
      silent: () => Promise.reject(fail(DiameterErrors.request_timeout, 'no answer within 10000 ms')),
      throwing: () => {
        throw new Error('synchronous failure');
      },
    };
    const reAuthorizer = gyReAuthorizer({
      tenantId: 'tenant-1',
      logger,
      server: { reAuthorizeSession: (sessionId) => answers[sessionId]!() },
    });
    reAuthorizer.starvedSessionsCredited(event(Object.keys(answers).map((id) => session(id, [10]))));
    await reAuthorizer.settled();
    const levelOf = (sessionId: string) =>
      logger.lines.filter((line) => line.object.session === sessionId).map((line) => line.level);
    assert.deepEqual(levelOf('ok'), ['debug']);
    assert.deepEqual(levelOf('limited'), ['debug']);
    assert.deepEqual(levelOf('gone'), ['info']);
    assert.deepEqual(levelOf('refused'), ['warn']);
    assert.deepEqual(levelOf('unrouted'), ['debug']);
    assert.deepEqual(levelOf('silent'), ['warn']);
    assert.equal(
      logger.lines.find((line) => line.object.session === 'silent')?.object.reason,
      'diameter.request_timeout',
    );
    assert.deepEqual(levelOf('throwing'), ['warn']);
  });

  it('does not send a second RAR for a session while the first awaits its answer, nor after close', async () => {
    let calls = 0;
    let answer: (value: ReAuthAnswer) => void = () => undefined;
    const reAuthorizer = gyReAuthorizer({
      tenantId: 'tenant-1',
      server: {
        reAuthorizeSession: (sessionId) => {
          calls += 1;
          return new Promise((resolve) => (answer = () => resolve(rar(sessionId, 2001))));
        },
      },
    });
    reAuthorizer.starvedSessionsCredited(event([session('s', [10])]));
    reAuthorizer.starvedSessionsCredited(event([session('s', [10])]));
    assert.equal(calls, 1);
    answer(rar('s', 2001));
    await reAuthorizer.settled();
    reAuthorizer.starvedSessionsCredited(event([session('s', [10])]));
    assert.equal(calls, 2, 'answered: the next credit may ask again');
    answer(rar('s', 2001));
    await reAuthorizer.settled();
    reAuthorizer.close();
    reAuthorizer.starvedSessionsCredited(event([session('s', [10])]));
    assert.equal(calls, 2);
  });
});

// End to end over the real engine and database: Anna Schmidt (demo data, msisdn 4915120000001)
// is a prepaid subscriber; the demo seed gives her account 15.00 EUR and her line a 5 GB data
// bucket. Both are drained, so her data session is refused for credit (4012); a top-up then
// reaches the session, and the Gy client gets a RAR for it with the rating group.
const ANNA = '4915120000001';
const EUR = 1_000_000_000_000n; // pico-units per euro
const DATA = '32251@3gpp.org';

describeEachDialect('diameter: a top-up re-authorises a starved Gy session', (db) => {
  const clock = new FakeClock('2026-11-29T12:00:00.000Z');
  let tenantId: string;
  let accountId: string;
  let engine: ChargingEngine;
  let server: DiameterServer;
  let client: DiameterClient;
  let unsubscribe: () => void;
  const logger = capturingLogger();
  let reAuthorizing: ReturnType<typeof gyReAuthorizer>;

  before(async () => {
    engine = new ChargingEngine({ database: db(), clock });
    const deps = { database: db(), clock, charging: engine };
    await seedDemoIfEmpty(deps, loadDemoFiles());
    tenantId = (await findTenant(deps, 'demo'))!.id;
    const directory = new SubscriberDirectory(db(), tenantId);
    await directory.preloadIdentity('msisdn', ANNA);
    accountId = directory.ownerAt('msisdn', ANNA, clock.nowMs())!.account.id;
    server = await startDiameterServer({
      port: 0,
      originHost: 'ocs.tollgate.test',
      originRealm: 'tollgate.test',
      clock,
      creditControl: gyCreditControlHandler({ engine, tenantId, clock }),
    });
    reAuthorizing = gyReAuthorizer({ server, tenantId, logger });
    unsubscribe = engine.onStarvedSessionsCredited((e) => reAuthorizing.starvedSessionsCredited(e));
    client = await connectDiameterClient({
      port: server.address.port,
      originHost: 'pgw.operator.test',
      originRealm: 'operator.test',
      clock,
    });
  });
  after(async () => {
    unsubscribe?.();
    client?.close();
    await server?.close();
  });

  const ccr = (request: Partial<ClientCreditControlRequest>) =>
    client.creditControl({
      sessionId: 'pgw.operator.test;anna;1',
      serviceContextId: DATA,
      requestType: 'INITIAL',
      requestNumber: 0,
      subscriptionIds: [{ type: 'END_USER_E164', data: ANNA }],
      ...request,
    });

  it('sends the RAR when a top-up reaches the session, and the client then gets quota', async () => {
    // Drain every balance of the account (the money and the data bucket).
    const state = await engine.accountState(tenantId, accountId);
    const money = [...state.balances.values()].find((b) => b.unit === 'money')!;
    assert.ok(money, 'the demo opened a money balance for Anna');
    for (const balance of state.balances.values()) {
      const free = balance.amount - balance.held;
      if (free <= 0n) continue;
      const drained = await engine.move(tenantId, accountId, 'adjustment', {
        balanceId: balance.id,
        amount: -free,
        reference: `drain-${balance.id}`,
      });
      assert.equal(drained.code, 'ok');
    }

    const sessionId = 'pgw.operator.test;anna;1';
    const refused = await ccr({ sessionId, services: [{ ratingGroup: 10, requested: {} }] });
    assert.equal(refused.resultCode, ResultCode.DIAMETER_CREDIT_LIMIT_REACHED);
    assert.equal(refused.services[0]?.resultCode, ResultCode.DIAMETER_CREDIT_LIMIT_REACHED);
    assert.equal(client.reAuthRequests.length, 0, 'nothing before a credit');

    const topUp = await engine.move(tenantId, accountId, 'top_up', {
      balanceId: money.id,
      amount: 5n * EUR,
      reference: 'pay-after-exhaustion',
    });
    assert.equal(topUp.code, 'ok');
    await reAuthorizing.settled();

    assert.equal(client.reAuthRequests.length, 1);
    const request = client.reAuthRequests[0]!;
    assert.equal(request.commandCode, 258);
    assert.equal(stringValue(request, 'Session-Id'), sessionId);
    assert.equal(stringValue(request, 'Destination-Host'), 'pgw.operator.test');
    assert.equal(stringValue(request, 'Destination-Realm'), 'operator.test');
    assert.equal(numberValue(request, 'Auth-Application-Id'), 4);
    assert.equal(numberValue(request, 'Re-Auth-Request-Type'), 0);
    assert.deepEqual(
      findAvps(request, 'Rating-Group').map((a) => a.value),
      [10],
    );
    assert.ok(logger.lines.some((line) => line.message === 'diameter re-authorisation accepted'));

    // The client does what RFC 4006 section 5.5 asks: a CCR-U, which now gets quota.
    const update = await ccr({
      sessionId,
      requestType: 'UPDATE',
      requestNumber: 1,
      services: [{ ratingGroup: 10, requested: {}, used: [{ totalOctets: 0n }] }],
    });
    assert.equal(update.resultCode, ResultCode.DIAMETER_SUCCESS);
    assert.equal(update.services[0]?.resultCode, ResultCode.DIAMETER_SUCCESS);
    assert.ok((update.services[0]?.granted?.totalOctets ?? 0n) > 0n);

    // Fed again, the session is not starved: a further top-up sends nothing.
    await engine.move(tenantId, accountId, 'top_up', {
      balanceId: money.id,
      amount: 1n * EUR,
      reference: 'pay-again',
    });
    await reAuthorizing.settled();
    assert.equal(client.reAuthRequests.length, 1);

    // Terminated, the session is forgotten by the server as well as by the engine.
    const ended = await ccr({
      sessionId,
      requestType: 'TERMINATE',
      requestNumber: 2,
      services: [{ ratingGroup: 10, used: [{ totalOctets: 0n }] }],
    });
    assert.equal(ended.resultCode, ResultCode.DIAMETER_SUCCESS);
    assert.equal(server.sessionRoute(sessionId), undefined);
  });
});
