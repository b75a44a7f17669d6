/**
 * Demo data: what a newcomer sees after `npm start` on an empty database. Later capabilities add
 * their part here (catalog, customers, usage, invoices...). Seeding runs only on an empty database
 * and is one transaction per tenant, so an interrupted seed is simply run again.
 */
import type { Role } from '../access/index.js';
import { fail, CommonErrors } from '../kernel/errors.js';
import { createApiKey } from './api-keys.js';
import { applyCatalog } from './catalog.js';
import { importCustomers, importRecordsFromCsv } from './customers.js';
import { createTenant, listTenants } from './tenants.js';
import { withAmbientTransaction, type Actor, type WorkflowDeps } from './context.js';
import { inTransaction } from '../storage/database.js';
import { seedDemoUsage, type DemoUsageSummary } from './demo-usage.js';

/**
 * The example files the demo loads: a catalog (catalog-as-code YAML), customers (import CSV) and,
 * optionally, the usage sources (examples/usage/sources.yaml) whose traffic it generates.
 */
export interface DemoFiles {
  readonly catalog: { readonly file: string; readonly text: string };
  readonly customers: { readonly file: string; readonly text: string };
  readonly usageSources?: { readonly file: string; readonly text: string };
}

export interface DemoOptions {
  /**
   * Where to write the demo's day of usage files (data/demo-usage). With it and
   * `files.usageSources`, the seed also defines the usage sources and imports a generated day of
   * traffic (src/workflows/demo-usage.ts); without, the demo has no usage.
   */
  readonly usageDirectory?: string;
}

export interface DemoSeed {
  readonly tenantSlug: string;
  readonly tenantId: string;
  readonly offers: number;
  readonly customers: { readonly rows: number; readonly subscriptions: number };
  readonly adminKey: string;
  readonly keys: ReadonlyArray<{ name: string; roles: readonly Role[]; secret: string }>;
  /** The day of traffic imported, when the usage part was seeded. */
  readonly usage?: DemoUsageSummary;
}

const SEED_ACTOR: Actor = { type: 'system', id: 'demo-seed' };

/** Seeds the demo when no tenant exists yet; returns undefined when the database has data. */
export async function seedDemoIfEmpty(
  deps: WorkflowDeps,
  files: DemoFiles,
  options: DemoOptions = {},
): Promise<DemoSeed | undefined> {
  // One transaction for the tenants, keys, catalog and customers: a failure anywhere leaves the
  // database empty, so the next start seeds again instead of finding a half-made demo.
  const seeded = await inTransaction(deps.database, (tx) =>
    withAmbientTransaction(tx, () => seed(deps, files)),
  );
  if (seeded === undefined || files.usageSources === undefined || options.usageDirectory === undefined) {
    return seeded;
  }
  // Usage comes after that transaction has committed: a file import commits batch by batch (its
  // own transactions, which cannot nest in another on SQLite's single connection), exactly as an
  // operator's import would. Should it fail, the rest of the demo stands; the day can be imported
  // again with `tollgate usage import` from the files it wrote.
  const usage = await seedDemoUsage(
    deps,
    { tenantId: seeded.tenantId, actor: SEED_ACTOR },
    { sources: files.usageSources, customers: files.customers, directory: options.usageDirectory },
  );
  return { ...seeded, usage };
}

async function seed(deps: WorkflowDeps, files: DemoFiles): Promise<DemoSeed | undefined> {
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
  // The operator's catalog, exactly as a pricing team would keep it in a repository.
  const diff = await applyCatalog(deps, caller, [files.catalog]);
  // Its customers: individuals on prepaid and postpaid plans, a broadband home, a family sharing a
  // data pool, an enterprise with three departments and twenty lines, and an IoT pool of meters.
  const report = await importCustomers(deps, caller, importRecordsFromCsv(files.customers.text), {
    atomic: true,
  });
  if (report.rejected > 0) {
    const first = report.errors[0];
    throw fail(
      CommonErrors.invalid_input,
      `the demo customers in ${files.customers.file} did not import: row ${first?.row} ${first?.field}: ${first?.message}`,
      { field: first?.field ?? 'customers', record: `${files.customers.file}:${first?.row ?? 0}` },
    );
  }
  const subscriptions = report.rows.filter((r) => r.subscriptionId !== undefined).length;
  return {
    tenantSlug: operator.slug,
    tenantId: operator.id,
    adminKey: keys[0]!.secret,
    keys,
    offers: diff.entries.filter((e) => e.kind === 'offer' && e.action === 'create').length,
    customers: { rows: report.total, subscriptions },
  };
}
