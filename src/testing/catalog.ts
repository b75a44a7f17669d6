/**
 * A tiny catalog for tests that create subscriptions: subscriptions name catalog offers, which
 * must exist, be of the right kind and have a version in force. `seedTestCatalog` applies it to a
 * tenant (catalog as code, see docs/catalog-as-code.md) and returns the offer ids by code.
 *
 * - plans MOBILE-S, MOBILE-M, MOBILE-L, MOBILE-BASIC, MOBILE-PLUS, BUSINESS, IOT, DSL (in force from
 *   2025-01-01, open-ended); FUTURE-PLAN (only from 2030-01-01); bundle HOME-BUNDLE (DSL + MOBILE-M);
 * - add-ons ROAMING-PACK and DATA-10GB (any plan), EXTRA-A and EXTRA-B (any plan; EXTRA-B excludes
 *   EXTRA-A), PREMIUM-ROAMING (only with MOBILE-L or MOBILE-M), LEGACY-ADDON (ended 2025-06-01).
 *
 * Apply it before anything else of the catalog: applying a catalog retires what it does not name.
 */
import { applyCatalog, listOffers } from '../workflows/catalog.js';
import type { Caller, WorkflowDeps } from '../workflows/context.js';

const FROM = '2025-01-01T00:00:00Z';

function plan(code: string, from = FROM, extra = ''): string {
  return `  - code: ${code}
    name: ${code} plan
    kind: plan
    currencies: [EUR, GBP]
    products: [TEST-MOBILE]
${extra}    versions:
      - effectiveFrom: ${from}
        prices:
          - code: monthly
            kind: recurring
            amounts: [{ amount: '10.00', currency: EUR }, { amount: '9.00', currency: GBP }]
            period: month
            billing: advance
            proration: daily
`;
}

function addOn(code: string, eligibility = '', to = ''): string {
  return `  - code: ${code}
    name: ${code} add-on
    kind: add-on
    currencies: [EUR, GBP]
    products: [TEST-MOBILE]
    versions:
      - effectiveFrom: ${FROM}
${to === '' ? '' : `        effectiveTo: ${to}\n`}        prices:
          - code: once
            kind: one-time
            reason: other
            amounts: [{ amount: '2.00', currency: EUR }, { amount: '2.00', currency: GBP }]
${eligibility === '' ? '' : `        eligibility:\n${eligibility}`}`;
}

/** The test catalog as a catalog file. */
export const TEST_CATALOG_YAML = `format: tollgate.catalog/v1
products:
  - { code: TEST-MOBILE, name: Test mobile, service: data }
offers:
${['MOBILE-S', 'MOBILE-M', 'MOBILE-L', 'MOBILE-BASIC', 'MOBILE-PLUS', 'BUSINESS', 'IOT', 'DSL']
  .map((code) => plan(code))
  .join(
    '',
  )}${plan('FUTURE-PLAN', '2030-01-01T00:00:00Z')}${plan('HOME-BUNDLE', FROM, '    components: [DSL, MOBILE-M]\n').replace('kind: plan', 'kind: bundle')}${addOn('ROAMING-PACK')}${addOn('DATA-10GB')}${addOn('EXTRA-A')}${addOn('EXTRA-B', '          excludes: [EXTRA-A]\n')}${addOn('PREMIUM-ROAMING', '          compatiblePlans: [MOBILE-L, MOBILE-M]\n')}${addOn('LEGACY-ADDON', '', '2025-06-01T00:00:00Z')}`;

/** Applies the test catalog to the caller's tenant; returns offer ids by code. */
export async function seedTestCatalog(deps: WorkflowDeps, caller: Caller): Promise<Map<string, string>> {
  await applyCatalog(deps, caller, [{ file: 'test-catalog.yaml', text: TEST_CATALOG_YAML }]);
  const page = await listOffers(deps, caller.tenantId, { offset: 0, limit: 100 });
  return new Map(page.items.map((view) => [view.offer.code, view.offer.id]));
}
