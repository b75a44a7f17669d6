import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../kernel/clock.js';
import { describeEachDialect } from '../../testing/databases.js';
import { loadDemoFiles } from '../../app/demo-files.js';
import { seedDemoIfEmpty } from '../../workflows/demo.js';
import { findTenant } from '../../workflows/tenants.js';
import { createApiKey, clearAuthenticationCache } from '../../workflows/api-keys.js';
import { ChargingEngine } from '../../workflows/charging.js';
import { SubscriberDirectory } from '../../workflows/usage-directory.js';
import { hasAnyRole, type Principal } from '../../access/index.js';
import { authenticateApiKey } from '../../workflows/api-keys.js';
import { startNchfServer, type NchfServer } from './server.js';
import { createNchfClient, refFromLocation, type NchfClient } from './client.js';
import { engineChargingHandler } from './charging.js';
import { dataCreateRequest, dataReleaseRequest, dataUpdateRequest } from './fixtures.js';
import type { ChargingDataRequest } from './model.js';

// The Nchf server over the real charging engine and database: Clara (demo data, msisdn
// 4915120000003) holds a 5 EUR balance; an SMF opens a data session, reports usage and releases it.
const CLARA = '4915120000003';
const EUR = 1_000_000_000_000n;

describeEachDialect('nchf: converged charging over the engine', (db) => {
  const clock = new FakeClock('2026-11-29T12:00:00.000Z');
  let server: NchfServer;
  let client: NchfClient;
  let readOnly: string;
  let tenantId: string;
  let accountId: string;
  // A fresh engine reads the balance from the tables (and checks it against its movements).
  const stored = async () =>
    (await new ChargingEngine({ database: db(), clock }).accountState(tenantId, accountId)).balances.get(
      'nchf-clara',
    )!;
  const now = (): string => new Date(clock.nowMs()).toISOString();
  const forClara = (
    request: ChargingDataRequest,
    extra: Partial<ChargingDataRequest> = {},
  ): ChargingDataRequest => ({
    ...request,
    subscriberIdentifier: `msisdn-${CLARA}`,
    invocationTimeStamp: now(),
    ...extra,
  });

  before(async () => {
    clearAuthenticationCache();
    const deps = { database: db(), clock };
    await seedDemoIfEmpty(deps, loadDemoFiles());
    tenantId = (await findTenant(deps, 'demo'))!.id;
    const caller = { tenantId, actor: { type: 'system' as const, id: 'test' } };
    const smf = await createApiKey(deps, caller, { name: 'smf', roles: ['network-element'] });
    readOnly = (await createApiKey(deps, caller, { name: 'reader', roles: ['read-only'] })).secret;
    const directory = new SubscriberDirectory(db(), tenantId);
    await directory.preloadIdentity('msisdn', CLARA);
    accountId = directory.ownerAt('msisdn', CLARA, clock.nowMs())!.account.id;
    const engine = new ChargingEngine({ database: db(), clock });
    await engine.openBalance(tenantId, accountId, 'EUR', {
      id: 'nchf-clara',
      ownerKind: 'account',
      ownerId: accountId,
      unit: 'money',
    });
    await engine.move(tenantId, accountId, 'top_up', {
      balanceId: 'nchf-clara',
      amount: 5n * EUR,
      reference: 'p',
    });
    server = await startNchfServer<Principal>({
      port: 0,
      clock,
      handler: engineChargingHandler(engine),
      authorise: async (header) => {
        const key = header?.replace(/^Bearer\s+/i, '');
        if (key === undefined) return undefined;
        try {
          const principal = await authenticateApiKey(deps, key);
          return hasAnyRole(principal, ['network-element']) ? principal : undefined;
        } catch {
          return undefined;
        }
      },
    });
    client = createNchfClient({ baseUrl: `http://127.0.0.1:${server.address.port}`, token: smf.secret });
  });
  after(async () => {
    await client?.close();
    await server?.close();
  });

  it('opens, updates and releases a data session; the balance pays exactly the reported bytes', async () => {
    const created = await client.create(forClara(dataCreateRequest()));
    assert.equal(created.status, 201, created.text);
    const ref = refFromLocation(created.headers.location as string)!;
    const granted = created.body!.multipleUnitInformation![0]!;
    assert.equal(granted.resultCode, 'SUCCESS');
    assert.ok((granted.grantedUnit?.totalVolume ?? 0) > 0);
    assert.ok((granted.validityTime ?? 0) > 0);

    clock.advanceMs(60_000);
    const updated = await client.update(ref, forClara(dataUpdateRequest()));
    assert.equal(updated.status, 200, updated.text);
    assert.equal(updated.body!.multipleUnitInformation![0]!.resultCode, 'SUCCESS');
    // The SMF did not get the answer and sends the same update again: answered, not charged again.
    const before = (await stored()).amount;
    const again = await client.update(ref, forClara(dataUpdateRequest()));
    assert.equal(again.status, 200);
    assert.equal((await stored()).amount, before);

    clock.advanceMs(60_000);
    const released = await client.release(ref, forClara(dataReleaseRequest()));
    assert.equal(released.status, 204, released.text);

    const balance = await stored();
    assert.equal(balance.held, 0n);
    assert.ok(balance.amount < 5n * EUR, 'the 5 750 000 bytes reported were charged');
    // A released session is gone for the SMF.
    const late = await client.update(ref, forClara(dataUpdateRequest(), { invocationSequenceNumber: 3 }));
    assert.equal(late.status, 404);
  });

  it('answers a create sent twice (same PDU session) with the same charging data reference', async () => {
    const request = forClara(dataCreateRequest(), {
      pDUSessionChargingInformation: {
        ...dataCreateRequest().pDUSessionChargingInformation!,
        chargingId: 777,
      },
    });
    const first = await client.create(request);
    const second = await client.create(request);
    assert.equal(first.status, 201);
    assert.equal(second.status, 201);
    assert.equal(
      refFromLocation(second.headers.location as string),
      refFromLocation(first.headers.location as string),
    );
  });

  it('refuses an unknown subscriber (404 USER_UNKNOWN), an unknown reference (404) and callers without the role (401)', async () => {
    const unknown = await client.create(
      forClara(dataCreateRequest(), { subscriberIdentifier: 'msisdn-4915199999999' }),
    );
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body?.cause, 'USER_UNKNOWN');
    const missing = await client.update('chg_nope', forClara(dataUpdateRequest()));
    assert.equal(missing.status, 404);
    const reader = await client.create(forClara(dataCreateRequest()), { token: readOnly });
    assert.equal(reader.status, 401);
    const anonymous = await client.create(forClara(dataCreateRequest()), { token: null });
    assert.equal(anonymous.status, 401);
  });
});
