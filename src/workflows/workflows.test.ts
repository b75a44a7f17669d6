import { it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../kernel/clock.js';
import { isTollgateError } from '../kernel/errors.js';
import { describeEachDialect } from '../testing/databases.js';
import { listAuditRecords, verifyAuditChain } from '../audit/index.js';
import { listEvents } from '../events/index.js';
import { authenticateApiKey, clearAuthenticationCache, createApiKey, revokeApiKey } from './api-keys.js';
import { createTenant, updateTenantProfile } from './tenants.js';
import { recordChange, runChange, type Actor } from './context.js';

const actor: Actor = { type: 'system', id: 'test' };

async function rejectsWith(promise: Promise<unknown>, code: string) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isTollgateError(error), `expected a TollgateError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

describeEachDialect('workflows: tenants, keys, audit and events together', (db) => {
  const clock = new FakeClock('2026-03-01T10:00:00.000Z');
  const deps = () => ({ database: db(), clock });

  it('creates a tenant with its audit record and event in one go', async () => {
    const tenant = await createTenant(deps(), actor, {
      slug: 'acme',
      name: 'Acme',
      settings: { timeZone: 'Europe/Paris' },
    });
    assert.equal(tenant.settings.timeZone, 'Europe/Paris');
    assert.equal(tenant.settings.defaultCurrency, 'EUR');
    const audit = await listAuditRecords(db().db, tenant.id, { limit: 10 });
    assert.deepEqual(
      audit.records.map((r) => r.action),
      ['tenant.created'],
    );
    const events = await listEvents(db().db, tenant.id, { limit: 10 });
    assert.deepEqual(
      events.map((e) => e.type),
      ['tenant.created'],
    );
    await rejectsWith(createTenant(deps(), actor, { slug: 'acme', name: 'Again' }), 'tenancy.slug_taken');
    await rejectsWith(createTenant(deps(), actor, { slug: 'Bad Slug', name: 'x' }), 'tenancy.invalid_slug');
    await rejectsWith(
      createTenant(deps(), actor, { slug: 'zoned', name: 'x', settings: { timeZone: 'Mars/Olympus' } }),
      'tenancy.invalid_time_zone',
    );
  });

  it('rolls back the change, its audit record and its event together', async () => {
    const tenant = await createTenant(deps(), actor, { slug: 'rollback', name: 'Rollback' });
    const before = (await listAuditRecords(db().db, tenant.id, { limit: 100 })).records.length;
    await assert.rejects(
      runChange(deps(), { tenantId: tenant.id, actor }, async (ctx) => {
        await recordChange(ctx, {
          action: 'thing.changed',
          entityType: 'thing',
          entityId: 't1',
          after: { a: 1 },
          event: { type: 'thing.changed', payload: {} },
        });
        throw new Error('the use case failed after recording');
      }),
      /failed after recording/,
    );
    assert.equal((await listAuditRecords(db().db, tenant.id, { limit: 100 })).records.length, before);
    const events = await listEvents(db().db, tenant.id, { limit: 100 });
    assert.ok(!events.some((e) => e.type === 'thing.changed'));
    assert.equal((await verifyAuditChain(db().db, tenant.id)).ok, true);
  });

  it('authenticates keys, refuses revoked and expired ones, and never stores the secret', async () => {
    clearAuthenticationCache();
    const tenant = await createTenant(deps(), actor, { slug: 'keys', name: 'Keys' });
    const caller = { tenantId: tenant.id, actor };
    const created = await createApiKey(deps(), caller, {
      name: 'ops',
      roles: ['billing-operator', 'finance'],
    });
    const principal = await authenticateApiKey(deps(), created.secret);
    assert.equal(principal.tenantId, tenant.id);
    assert.deepEqual([...principal.roles], ['billing-operator', 'finance']);

    const stored = await db()
      .db.selectFrom('api_keys')
      .selectAll()
      .where('id', '=', created.key.id)
      .executeTakeFirstOrThrow();
    assert.ok(
      !JSON.stringify(stored).includes(created.secret.slice(-43)),
      'the secret itself is never stored',
    );
    const audit = await listAuditRecords(db().db, tenant.id, { limit: 100 });
    assert.ok(
      !JSON.stringify(audit.records, (_k, v) => (typeof v === 'bigint' ? String(v) : v)).includes(
        created.secret,
      ),
    );

    const tampered = created.secret.slice(0, -1) + (created.secret.endsWith('A') ? 'B' : 'A');
    await rejectsWith(authenticateApiKey(deps(), tampered), 'access.invalid_credentials');
    await rejectsWith(authenticateApiKey(deps(), 'not-a-key'), 'access.invalid_credentials');

    await revokeApiKey(deps(), caller, created.key.id);
    await rejectsWith(authenticateApiKey(deps(), created.secret), 'access.key_revoked');

    const expiring = await createApiKey(deps(), caller, {
      name: 'temp',
      roles: ['read-only'],
      expiresAt: '2026-03-01T11:00:00.000Z',
    });
    await authenticateApiKey(deps(), expiring.secret);
    clock.advanceMs(2 * 3_600_000);
    await rejectsWith(authenticateApiKey(deps(), expiring.secret), 'access.key_expired');
  });

  it('refuses keys with no role, unknown roles, or a subscriber without an account', async () => {
    const tenant = await createTenant(deps(), actor, { slug: 'roles', name: 'Roles' });
    const caller = { tenantId: tenant.id, actor };
    await rejectsWith(createApiKey(deps(), caller, { name: 'x', roles: [] }), 'access.invalid_role');
    await rejectsWith(createApiKey(deps(), caller, { name: 'x', roles: ['root'] }), 'access.invalid_role');
    await rejectsWith(
      createApiKey(deps(), caller, { name: 'x', roles: ['subscriber'] }),
      'access.invalid_role',
    );
    const sub = await createApiKey(deps(), caller, { name: 'x', roles: ['subscriber'], accountId: 'acct_1' });
    assert.equal((await authenticateApiKey(deps(), sub.secret)).accountId, 'acct_1');
  });

  it('records before and after when a tenant changes', async () => {
    const tenant = await createTenant(deps(), actor, { slug: 'profile', name: 'Old name' });
    await updateTenantProfile(
      deps(),
      { tenantId: tenant.id, actor },
      { name: 'New name', settings: { locale: 'fr' } },
    );
    const [latest] = (await listAuditRecords(db().db, tenant.id, { limit: 1 })).records;
    assert.equal(latest?.action, 'tenant.updated');
    assert.equal((latest?.before as { name: string }).name, 'Old name');
    assert.equal((latest?.after as { name: string; settings: { locale: string } }).settings.locale, 'fr');
  });
});

describeEachDialect('nested use cases', (db) => {
  const clock = new FakeClock('2026-03-01T10:00:00.000Z');
  const deps = () => ({ database: db(), clock });

  it('undo only their own writes when they fail inside an outer transaction', async () => {
    const tenant = await createTenant(deps(), actor, { slug: 'nested', name: 'Nested' });
    const caller = { tenantId: tenant.id, actor };
    const created = await runChange(deps(), caller, async () => {
      const kept = await createApiKey(deps(), caller, { name: 'kept', roles: ['read-only'] });
      await assert.rejects(
        runChange(deps(), caller, async (ctx) => {
          await recordChange(ctx, { action: 'inner.changed', entityType: 'inner', entityId: 'i1' });
          throw new Error('inner failure');
        }),
        /inner failure/,
      );
      return kept;
    });
    const actions = (await listAuditRecords(db().db, tenant.id, { limit: 100 })).records.map((r) => r.action);
    assert.ok(actions.includes('api_key.created'), 'the outer work committed');
    assert.ok(!actions.includes('inner.changed'), 'the failed inner use case left nothing');
    await authenticateApiKey(deps(), created.secret);
    assert.equal((await verifyAuditChain(db().db, tenant.id)).ok, true);
  });
});
