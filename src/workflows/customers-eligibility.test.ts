/**
 * The catalog's eligibility rules as subscriptions meet them: `customerTypes` (a residential
 * offer is sold to individuals, a business one to organisations) on new subscriptions, plan
 * changes and add-ons, and an add-on's `maxPerSubscription` (how many are held at once).
 */
import { before, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../kernel/clock.js';
import { isTollgateError } from '../kernel/errors.js';
import { describeEachDialect } from '../testing/databases.js';
import type { Caller, WorkflowDeps } from './context.js';
import { createTenant } from './tenants.js';
import { applyCatalog } from './catalog.js';
import { attachAddOn, changePlan, createAccount, createCustomer, createSubscription } from './customers.js';

const FROM = '2026-01-01T00:00:00Z';
/** The same instant as the workflows take them: UTC with milliseconds. */
const START = '2026-01-01T00:00:00.000Z';
const offer = (code: string, kind: string, eligibility: string) => `  - code: ${code}
    name: ${code}
    kind: ${kind}
    currencies: [EUR]
    products: [DATA]
    versions:
      - effectiveFrom: ${FROM}
        prices:
          - { code: fee, kind: one-time, reason: other, amounts: [{ amount: '1.00', currency: EUR }] }
        eligibility: { ${eligibility} }
`;
const CATALOG = `format: tollgate.catalog/v1
products:
  - { code: DATA, name: Data, service: data }
offers:
${offer('HOME', 'plan', 'customerTypes: [residential]')}${offer('PRO', 'plan', 'customerTypes: [business]')}${offer('ANY', 'plan', '')}${offer('BOOST', 'add-on', 'maxPerSubscription: 2')}${offer('PRO-SUPPORT', 'add-on', 'customerTypes: [business]')}`;

async function rejectsWith(promise: Promise<unknown>, code: string, detail: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isTollgateError(error), String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, detail);
    return true;
  });
}

describeEachDialect('workflows: offer eligibility on subscriptions', (db) => {
  const clock = new FakeClock('2026-03-01T10:00:00.000Z');
  const deps = (): WorkflowDeps => ({ database: db(), clock });
  let caller: Caller;
  let person: string;
  let company: string;

  before(async () => {
    const tenant = await createTenant(deps(), { type: 'system', id: 'test' }, { slug: 'elig', name: 'Elig' });
    caller = { tenantId: tenant.id, actor: { type: 'system', id: 'test' } };
    await applyCatalog(deps(), caller, [{ file: 'catalog.yaml', text: CATALOG }]);
    const accountOf = async (kind: 'individual' | 'organization', name: string) => {
      const customer = await createCustomer(deps(), caller, { kind, name });
      return (await createAccount(deps(), caller, { customerId: customer.id, name, currency: 'EUR' })).id;
    };
    person = await accountOf('individual', 'Ada');
    company = await accountOf('organization', 'Acme Ltd');
  });

  const subscribe = (accountId: string, offerCode: string) =>
    createSubscription(deps(), caller, { accountId, offerCode, startDate: START });

  it('sells residential offers to individuals and business offers to organisations', async () => {
    await subscribe(person, 'HOME');
    await subscribe(company, 'PRO');
    await subscribe(person, 'ANY');
    await subscribe(company, 'ANY');
    await rejectsWith(
      subscribe(person, 'PRO'),
      'customers.offer_not_eligible',
      /offer PRO is sold to business customers only; customer cust_\w+ is residential \(an individual\)/,
    );
    await rejectsWith(subscribe(company, 'HOME'), 'customers.offer_not_eligible', /is business/);
  });

  it('applies the rule to plan changes and add-ons too', async () => {
    const home = await subscribe(person, 'HOME');
    await rejectsWith(
      changePlan(deps(), caller, home.id, { offerCode: 'PRO', at: '2026-02-01T00:00:00.000Z' }),
      'customers.offer_not_eligible',
      /offer PRO/,
    );
    await rejectsWith(
      attachAddOn(deps(), caller, home.id, { offerCode: 'PRO-SUPPORT', from: START }),
      'customers.offer_not_eligible',
      /offer PRO-SUPPORT/,
    );
    const pro = await subscribe(company, 'PRO');
    await attachAddOn(deps(), caller, pro.id, { offerCode: 'PRO-SUPPORT', from: START });
  });

  it('holds an add-on at most maxPerSubscription times at once', async () => {
    const s = await subscribe(person, 'ANY');
    // Two boosts from January; a third is refused while both are held, and allowed once one ends.
    const first = await attachAddOn(deps(), caller, s.id, {
      offerCode: 'BOOST',
      from: START,
      until: '2026-02-01T00:00:00.000Z',
    });
    await attachAddOn(deps(), caller, s.id, { offerCode: 'BOOST', from: START });
    await rejectsWith(
      attachAddOn(deps(), caller, s.id, { offerCode: 'BOOST', from: '2026-01-15T00:00:00.000Z' }),
      'customers.add_on_overlap',
      /would be held 3 times at once on subscription sub_\w+ .*at most 2 at once/,
    );
    const third = await attachAddOn(deps(), caller, s.id, {
      offerCode: 'BOOST',
      from: first.validTo!,
    });
    assert.equal(third.validFrom, '2026-02-01T00:00:00.000Z');
  });
});
