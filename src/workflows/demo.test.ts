import { it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../kernel/clock.js';
import { describeEachDialect } from '../testing/databases.js';
import { loadDemoFiles } from '../app/demo-files.js';
import { findAccountByRef } from '../customers/store.js';
import { verifyAuditChain } from '../audit/index.js';
import { seedDemoIfEmpty } from './demo.js';
import { getAccountTree, findIdentityOwner } from './customers.js';
import { listTenants } from './tenants.js';
import { offerVersionAt } from './catalog.js';
import { findOfferByCode } from '../catalog/store.js';

describeEachDialect('the demo seed', (db) => {
  const clock = new FakeClock('2026-11-25T12:00:00.000Z');
  const deps = () => ({ database: db(), clock });

  it('loads the example catalog and customers, once', async () => {
    const seed = await seedDemoIfEmpty(deps(), loadDemoFiles());
    assert.ok(seed, 'an empty database is seeded');
    assert.equal(seed.offers, 8);
    assert.equal(seed.customers.rows, 40);
    assert.equal(seed.customers.subscriptions, 39);
    assert.match(seed.adminKey, /^tgk_/);
    assert.equal(await seedDemoIfEmpty(deps(), loadDemoFiles()), undefined, 'a second start seeds nothing');

    const tenants = await listTenants(deps());
    const demo = tenants.find((t) => t.slug === 'demo')!;
    assert.deepEqual(tenants.map((t) => t.slug).sort(), ['demo', 'demo-brand']);

    // The enterprise: a head office with three departments paying through it, twenty lines.
    const head = await findAccountByRef(db().db, demo.id, 'A-2001');
    assert.ok(head);
    const tree = await getAccountTree(deps(), demo.id, head.id);
    assert.equal(tree.rollUp.childAccounts, 3);
    assert.equal(tree.rollUp.subscriptions, 20);
    assert.deepEqual(
      tree.rollUp.creditLimits.map((m) => m.toString()),
      ['5000.00 EUR'],
    );

    // A number is found at its owner, and each offer has a version in force now.
    const owner = await findIdentityOwner(deps(), demo.id, 'msisdn', '+49 151 20000001', clock.now());
    assert.equal(owner.accountId, (await findAccountByRef(db().db, demo.id, 'A-1001'))!.id);
    const family = await findOfferByCode(db().db, demo.id, 'FAMILY-SHARE');
    assert.ok(family);
    assert.ok(await offerVersionAt(deps(), demo.id, family.id, clock.now()));

    for (const tenant of tenants) assert.equal((await verifyAuditChain(db().db, tenant.id)).ok, true);
  });
});
