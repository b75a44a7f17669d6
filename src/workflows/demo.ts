/**
 * Demo data: what a newcomer sees after `npm start` on an empty database. Later capabilities add
 * their part here (catalog, customers, usage, invoices...). Seeding runs only on an empty database
 * and is one transaction per tenant, so an interrupted seed is simply run again.
 */
import type { Role } from '../access/index.js';
import { createApiKey } from './api-keys.js';
import { createTenant, listTenants } from './tenants.js';
import type { Actor, WorkflowDeps } from './context.js';

export interface DemoSeed {
  readonly tenantSlug: string;
  readonly adminKey: string;
  readonly keys: ReadonlyArray<{ name: string; roles: readonly Role[]; secret: string }>;
}

const SEED_ACTOR: Actor = { type: 'system', id: 'demo-seed' };

/** Seeds the demo when no tenant exists yet; returns undefined when the database has data. */
export async function seedDemoIfEmpty(deps: WorkflowDeps): Promise<DemoSeed | undefined> {
  if ((await listTenants(deps)).length > 0) return undefined;
  const operator = await createTenant(deps, SEED_ACTOR, {
    slug: 'demo',
    name: 'Demo Mobile (an MVNO)',
    settings: { defaultCurrency: 'EUR', timeZone: 'Europe/Berlin', locale: 'en' },
  });
  // A second brand proves tenancy from the first minute: its data is invisible to the first.
  await createTenant(deps, SEED_ACTOR, {
    slug: 'demo-brand',
    name: 'Demo Brand (a reseller hosted on the platform)',
    settings: { defaultCurrency: 'GBP', timeZone: 'Europe/London', locale: 'en' },
  });
  const caller = { tenantId: operator.id, actor: SEED_ACTOR };
  const wanted: ReadonlyArray<{ name: string; roles: Role[] }> = [
    { name: 'demo admin', roles: ['admin'] },
    { name: 'demo billing operator', roles: ['billing-operator'] },
    { name: 'demo read-only dashboard', roles: ['read-only'] },
  ];
  const keys = [];
  for (const spec of wanted) {
    const created = await createApiKey(deps, caller, spec);
    keys.push({ name: spec.name, roles: spec.roles, secret: created.secret });
  }
  return { tenantSlug: operator.slug, adminKey: keys[0]!.secret, keys };
}
