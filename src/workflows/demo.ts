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
import type { ChargingEngine } from './charging.js';
import { createBalance, topUpBalance } from './charging-admin.js';
import { findOfferByCode } from '../catalog/store.js';
import { listSubscriptions } from '../customers/store.js';
import { instantFromMs } from '../kernel/clock.js';

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
  /** The prepaid balances opened, when the seed was given the charging engine. */
  readonly charging?: { readonly subscriptions: number; readonly balances: number };
}

const SEED_ACTOR: Actor = { type: 'system', id: 'demo-seed' };

/** Seeds the demo when no tenant exists yet; returns undefined when the database has data. */
export async function seedDemoIfEmpty(
  deps: WorkflowDeps & { readonly charging?: ChargingEngine },
  files: DemoFiles,
  options: DemoOptions = {},
): Promise<DemoSeed | undefined> {
  // One transaction for the tenants, keys, catalog and customers: a failure anywhere leaves the
  // database empty, so the next start seeds again instead of finding a half-made demo.
  const base = await inTransaction(deps.database, (tx) =>
    withAmbientTransaction(tx, () => seed(deps, files)),
  );
  if (base === undefined) return undefined;
  // Prepaid balances come after that transaction too: the charging engine commits its own groups
  // (workflows/charging.ts). Given the engine (the App is), every prepaid subscriber gets a money
  // balance with a top-up and a data bucket.
  const charging = deps.charging;
  const seeded =
    charging === undefined
      ? base
      : { ...base, charging: await seedDemoBalances({ ...deps, charging }, base.tenantId) };
  if (files.usageSources === undefined || options.usageDirectory === undefined) {
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

/**
 * The demo's prepaid subscribers (on the MOBILE-PREPAID offer; the first three subscriptions if the
 * catalog has no such offer) each get a money balance on their account, topped up with 15.00 EUR
 * (payment reference demo-topup-<subscription>), and a 5 GB data bucket of their subscription,
 * valid 30 days. Returns how many subscribers and balances.
 */
async function seedDemoBalances(
  deps: WorkflowDeps & { readonly charging: ChargingEngine },
  tenantId: string,
): Promise<{ subscriptions: number; balances: number }> {
  const caller = { tenantId, actor: SEED_ACTOR };
  const db = deps.database.db;
  const offer = await findOfferByCode(db, tenantId, 'MOBILE-PREPAID');
  const { items } = await listSubscriptions(
    db,
    tenantId,
    { asOf: deps.clock.now(), ...(offer === undefined ? {} : { offerId: offer.id }) },
    { offset: 0, limit: offer === undefined ? 3 : 100 },
  );
  const validUntil = instantFromMs(deps.clock.nowMs() + 30 * 86_400_000);
  let balances = 0;
  for (const subscription of items) {
    const money = await createBalance(deps, caller, {
      ownerKind: 'account',
      ownerId: subscription.accountId,
      unit: 'money',
      lowBalanceThreshold: '2.00',
    });
    await topUpBalance(deps, caller, {
      balanceId: money.id,
      amount: { amount: '15.00', units: money.currency },
      paymentReference: `demo-topup-${subscription.id}`,
      channel: 'demo',
    });
    const data = await createBalance(deps, caller, {
      ownerKind: 'subscription',
      ownerId: subscription.id,
      unit: 'byte',
      services: ['data'],
      validUntil,
      priority: 10,
    });
    await topUpBalance(deps, caller, {
      balanceId: data.id,
      amount: { amount: '5', units: 'GB' },
      paymentReference: `demo-bundle-${subscription.id}`,
      channel: 'demo',
    });
    balances += 2;
  }
  return { subscriptions: items.length, balances };
}
