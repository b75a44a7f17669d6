/**
 * Scheduled allowance grants for online charging. Online (prepaid and hybrid accounts), the
 * allowances of a plan and its add-ons are not counted by the batch rater's ledger: they are unit
 * buckets in the charging engine, drawn before money (OnlinePricer prices what they do not cover).
 * `grantAllowances` gives every due subscription, for every allowance it holds at the instant, a
 * bucket for the allowance's current period, credited through the engine with a `grant` movement.
 *
 * Who is due: subscriptions whose status is `active`, that have started and not ended at the
 * instant, on an `active` billing account whose rating type is prepaid or hybrid. Their allowances
 * are those of the plan version in force at the instant and of the add-ons held then (published
 * versions), chosen as the batch rater chooses them (src/rating/compile.ts): add-ons before the
 * plan, zoned before unzoned, then by code, and one allowance per (sharing, code).
 *
 * The bucket of one allowance for one period:
 * - unit: the allowance's base unit, the quantity converted exactly ("5" GB = 5 000 000 000 bytes,
 *   "500" minute = 30 000 seconds; parseQuantity, never a float);
 * - filters: the usage service (USAGE_SERVICE_OF: voip counts as voice, broadband as data) and the
 *   allowance's zones;
 * - owner: the subscription; for `sharing: 'account-pool'` the account, one bucket per account
 *   granted once with the allowance's quantity, as the batch rater grants a pooled counter once
 *   (the 50 GB of a family plan are 50 GB however many SIMs share them). When subscriptions of one
 *   account hold pooled allowances of one code with different quantities, the first subscription by
 *   id decides;
 * - validity: the allowance's period (src/rating/periods.ts: the account's time zone and bill cycle
 *   day, the same periods as the batch rater), from its start; a subscription's bucket ends early
 *   when the subscription stops holding the offer (a plan change, an add-on's end, termination);
 * - priority: ALLOWANCE_PRIORITY + the allowance's place in the batch rater's order, below the
 *   default 100 of buckets an operator opens, so the period's allowances go first (buckets are
 *   always drawn before money, whatever their priority).
 *
 * Rollover `{ maxPeriods, maxQuantity }` keeps the bucket valid longer: the bucket of period p is
 * valid until the end of period p + maxPeriods, so what is left of it stays usable for maxPeriods
 * more periods, exactly the batch rater's rule (units of period q are usable in q … q + maxPeriods).
 * The consumption order (same priority, then the earliest expiry first) draws the oldest units
 * first, as the batch rater does. maxQuantity is applied when period p is granted: what is left of
 * the earlier buckets still valid then (amount − held) beyond maxQuantity is taken off, the oldest
 * first, by an adjustment with the reference `rollover cap <code> <period start>` (once per bucket
 * and period, engine.adjustOnce). Until the grant runs the earlier buckets are usable in full,
 * which errs on the subscriber's side.
 *
 * Idempotency. The bucket id is derived from (owner, allowance code, period start): `alw_` and 26
 * hex digits of SHA-256, so the same grant is the same bucket whenever it runs. A bucket is opened
 * at zero and its first movement is the grant (reference `allowance <code> <period start>`), so a
 * bucket with movements has had its grant; a bucket left at zero by a crash between opening and
 * granting is granted by the next run. Runs of one tenant are serialised in this process (the
 * engine that owns the accounts); as with every balance change, do not run the CLI's grants while
 * a server runs on the same database.
 *
 * Audit. Each grant (and each rollover cut) is one audit record with the domain event
 * `balance.allowance_granted` (`balance.adjusted` for a cut), written after the engine has
 * committed, like the other balance changes (charging-admin.ts), in one transaction per page of
 * subscriptions.
 *
 * Only the period containing the instant is granted: a period the scheduler missed entirely is not
 * granted afterwards (its bucket would already have expired). A subscription that starts, or an
 * add-on bought, in the middle of a period gets the whole quantity at the next run, as the batch
 * rater's counter does.
 */
import { createHash } from 'node:crypto';
import { fail, isTollgateError } from '../kernel/errors.js';
import { instantFromMs, msFromInstant, type Instant } from '../kernel/clock.js';
import { baseUnitOf, isDisplayUnit, parseQuantity, type BaseUnit } from '../kernel/quantity.js';
import type { AllowanceDefinition, OfferVersion } from '../catalog/index.js';
import * as catalogStore from '../catalog/store.js';
import type { AddOn, BillingAccount, OfferChange, Subscription } from '../customers/index.js';
import {
  accountsByIds,
  countSubscriptions,
  listAddOns,
  listOfferChanges,
  listSubscriptionsAfter,
} from '../customers/store.js';
import { USAGE_SERVICE_OF, periodCalendar } from '../rating/index.js';
import { ChargingErrors, availableOf, type BalanceDefinition, type OwnerKind } from '../charging/index.js';
import * as store from '../charging/store.js';
import { readExecutor, recordChange, runChange, type Caller, type ChangeRecord } from './context.js';
import type { ChargingAdminDeps } from './charging-admin.js';
import { listTenants } from './tenants.js';

/** Allowance buckets draw before the buckets an operator opens (default priority 100). */
export const ALLOWANCE_PRIORITY = 50;

const FOREVER = Number.MAX_SAFE_INTEGER;
const PAGE_SIZE = 500;
/** Accounts whose buckets are read at once. */
const CONCURRENT_READS = 8;
/** Buckets granted at once: their engine calls join the same group commits. */
const CONCURRENT_GRANTS = 32;

export interface GrantAllowancesInput {
  /** The instant whose periods are granted; default now. */
  readonly atMs?: number;
  /** Called after each page of subscriptions. */
  readonly onProgress?: (progress: GrantProgress) => void;
  /** Subscriptions read per page (and granted per transaction); default 500. */
  readonly pageSize?: number;
  /**
   * Stops the run between two pages (a server shutting down); what was granted stays granted and
   * the next run grants the rest.
   */
  readonly signal?: AbortSignal;
}

export interface GrantProgress {
  /** Subscriptions read (every active subscription of the tenant, prepaid or not). */
  readonly done: number;
  readonly total: number;
  readonly subscriptions: number;
  readonly granted: number;
}

/** Something that stopped one subscription's or account's grants (the others go on). */
export interface GrantProblem {
  readonly accountId: string;
  readonly subscriptionId: string | undefined;
  readonly allowance: string | undefined;
  readonly message: string;
}

export interface GrantRunResult {
  readonly at: Instant;
  /** Prepaid and hybrid subscriptions looked at (active, holding an offer at the instant). */
  readonly subscriptions: number;
  /** Buckets opened and granted by this run. */
  readonly bucketsOpened: number;
  /** Buckets of this period found granted already (by an earlier run). */
  readonly alreadyGranted: number;
  /** Units granted by this run, per base unit (decimal text of the integer count). */
  readonly unitsGranted: Readonly<Partial<Record<BaseUnit, string>>>;
  /** Units taken off earlier buckets by a rollover's maxQuantity, per base unit. */
  readonly rolloverCut: Readonly<Partial<Record<BaseUnit, string>>>;
  readonly problems: readonly GrantProblem[];
}

/** One allowance of one subscription, compiled for granting. */
interface HeldAllowance {
  readonly code: string;
  readonly offerCode: string;
  readonly source: 'plan' | 'add-on';
  readonly service: string;
  readonly unit: BaseUnit;
  readonly quantity: bigint;
  readonly zones: readonly string[] | undefined;
  readonly pooled: boolean;
  readonly definition: AllowanceDefinition;
  readonly maxQuantity: bigint | undefined;
  /** When the subscription stops holding the offer it comes from (ms; FOREVER when open). */
  readonly heldUntilMs: number;
}

/** One bucket to grant. */
interface GrantSpec {
  readonly id: string;
  readonly ownerKind: OwnerKind;
  readonly ownerId: string;
  readonly subscriptionId: string;
  readonly allowance: HeldAllowance;
  readonly priority: number;
  readonly periodIndex: number;
  readonly periodStartMs: number;
  readonly periodEndMs: number;
  readonly validUntilMs: number;
  /** Ids of the buckets of the earlier periods a rollover keeps valid, oldest first. */
  readonly earlierIds: readonly string[];
}

/** The deterministic id of the bucket of (owner, allowance code, period start). */
export function allowanceBucketId(ownerId: string, code: string, periodStartMs: number): string {
  const digest = createHash('sha256').update(`${ownerId}\u0000${code}\u0000${periodStartMs}`).digest('hex');
  return `alw_${digest.slice(0, 26)}`;
}

/** The reference of a bucket's grant movement. */
export function grantReference(code: string, periodStartMs: number): string {
  return `allowance ${code} ${instantFromMs(periodStartMs)}`;
}

// ---------------------------------------------------------------------------------------------
// The catalog: published offer versions by offer id

interface VersionRange {
  readonly fromMs: number;
  readonly toMs: number;
  readonly version: OfferVersion;
}

class OfferVersions {
  private constructor(private readonly byOffer: Map<string, { code: string; versions: VersionRange[] }>) {}

  static async load(deps: ChargingAdminDeps, tenantId: string): Promise<OfferVersions> {
    const db = readExecutor(deps);
    const byOffer = new Map<string, { code: string; versions: VersionRange[] }>();
    for (const offer of await catalogStore.allOffers(db, tenantId)) {
      const versions = (
        await catalogStore.listOfferVersions(db, tenantId, offer.id, { status: 'published' })
      ).map((version) => ({
        fromMs: msFromInstant(version.effectiveFrom),
        toMs: version.effectiveTo === undefined ? FOREVER : msFromInstant(version.effectiveTo),
        version,
      }));
      byOffer.set(offer.id, { code: offer.code, versions });
    }
    return new OfferVersions(byOffer);
  }

  at(offerId: string, ms: number): { code: string; version: OfferVersion } | undefined {
    const entry = this.byOffer.get(offerId);
    const range = entry?.versions.find((r) => r.fromMs <= ms && ms < r.toMs);
    return entry === undefined || range === undefined
      ? undefined
      : { code: entry.code, version: range.version };
  }
}

// ---------------------------------------------------------------------------------------------
// What a subscription holds at an instant

interface Holder {
  readonly subscription: Subscription;
  readonly account: BillingAccount;
  readonly offerChanges: readonly OfferChange[];
  readonly addOns: readonly AddOn[];
}

/**
 * The allowances a subscription holds at `atMs`, in the batch rater's order and choice (see the
 * module comment), or a problem per allowance that cannot be granted. Undefined when the
 * subscription holds no offer then.
 */
function allowancesHeld(
  holder: Holder,
  catalog: OfferVersions,
  atMs: number,
  problems: GrantProblem[],
): HeldAllowance[] | undefined {
  const { subscription } = holder;
  const terminationMs =
    subscription.terminationDate === undefined ? FOREVER : msFromInstant(subscription.terminationDate);
  const changes = [...holder.offerChanges].sort(
    (a, b) => a.effectiveAt.localeCompare(b.effectiveAt) || a.recordedAt.localeCompare(b.recordedAt),
  );
  let current = -1;
  for (let i = 0; i < changes.length; i++) if (msFromInstant(changes[i]!.effectiveAt) <= atMs) current = i;
  if (current < 0) return undefined;
  const next = changes[current + 1];
  const sources: Array<{ kind: 'plan' | 'add-on'; offerId: string; untilMs: number }> = [
    {
      kind: 'plan',
      offerId: changes[current]!.offerId,
      untilMs: Math.min(next === undefined ? FOREVER : msFromInstant(next.effectiveAt), terminationMs),
    },
  ];
  for (const addOn of holder.addOns) {
    const fromMs = msFromInstant(addOn.validFrom);
    const toMs = addOn.validTo === undefined ? FOREVER : msFromInstant(addOn.validTo);
    if (fromMs <= atMs && atMs < toMs) {
      sources.push({ kind: 'add-on', offerId: addOn.offerId, untilMs: Math.min(toMs, terminationMs) });
    }
  }
  const found: HeldAllowance[] = [];
  for (const source of sources) {
    const offer = catalog.at(source.offerId, atMs);
    if (offer === undefined) continue;
    for (const definition of offer.version.content.allowances ?? []) {
      const problem = (message: string) =>
        problems.push({
          accountId: holder.account.id,
          subscriptionId: subscription.id,
          allowance: definition.code,
          message: `offer ${offer.code} allowance ${definition.code}: ${message}`,
        });
      const service = USAGE_SERVICE_OF[definition.service];
      // An allowance of a service no usage is charged in (iptv) has nothing to draw it.
      if (service === undefined) continue;
      if (!isDisplayUnit(definition.unit)) {
        problem(`unknown unit ${JSON.stringify(definition.unit)}`);
        continue;
      }
      let quantity: bigint;
      let maxQuantity: bigint | undefined;
      try {
        quantity = parseQuantity(definition.quantity, definition.unit).amount;
        if (definition.rollover?.maxQuantity !== undefined) {
          maxQuantity = parseQuantity(definition.rollover.maxQuantity, definition.unit).amount;
        }
      } catch (error) {
        problem(error instanceof Error ? error.message : String(error));
        continue;
      }
      if (quantity <= 0n) {
        problem('the quantity is not more than zero');
        continue;
      }
      const maxPeriods = definition.rollover?.maxPeriods;
      if (maxPeriods !== undefined && (!Number.isSafeInteger(maxPeriods) || maxPeriods < 1)) {
        problem('rollover maxPeriods must be a whole number of 1 or more');
        continue;
      }
      found.push({
        code: definition.code,
        offerCode: offer.code,
        source: source.kind,
        service,
        unit: baseUnitOf(definition.unit),
        quantity,
        zones: definition.zones === undefined ? undefined : [...definition.zones],
        pooled: definition.sharing === 'account-pool',
        definition,
        maxQuantity,
        heldUntilMs: source.untilMs,
      });
    }
  }
  // The batch rater's order (compile.ts compileAllowances): add-ons first, zoned before unzoned,
  // then by code and offer code; one allowance per (sharing, code), the first in that order.
  found.sort(
    (a, b) =>
      (a.source === b.source ? 0 : a.source === 'add-on' ? -1 : 1) ||
      (a.zones === undefined ? 1 : 0) - (b.zones === undefined ? 1 : 0) ||
      compareText(a.code, b.code) ||
      compareText(a.offerCode, b.offerCode),
  );
  const seen = new Set<string>();
  return found.filter((allowance) => {
    const key = `${allowance.pooled ? 'pool' : 'own'}\u0000${allowance.code}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The buckets a subscription's allowances call for in the period of `atMs`. */
function specsOf(holder: Holder, allowances: readonly HeldAllowance[], atMs: number): GrantSpec[] {
  const { account, subscription } = holder;
  return allowances.map((allowance, place) => {
    const calendar = periodCalendar(allowance.definition.period, account.timeZone, account.billCycleDay);
    const period = calendar.periodAt(atMs);
    const maxPeriods = allowance.definition.rollover?.maxPeriods ?? 0;
    const ownerKind: OwnerKind = allowance.pooled ? 'account' : 'subscription';
    const ownerId = allowance.pooled ? account.id : subscription.id;
    // Rollover: valid until the end of period p + maxPeriods (see the module comment). A pool
    // belongs to the account, so the end of one subscription's holding does not cut it short.
    const rolloverEndMs = calendar.endOf(period.index + maxPeriods);
    const validUntilMs = allowance.pooled ? rolloverEndMs : Math.min(rolloverEndMs, allowance.heldUntilMs);
    const earlierIds: string[] = [];
    for (let back = maxPeriods; back >= 1; back--) {
      earlierIds.push(allowanceBucketId(ownerId, allowance.code, calendar.startOf(period.index - back)));
    }
    return {
      id: allowanceBucketId(ownerId, allowance.code, period.startMs),
      ownerKind,
      ownerId,
      subscriptionId: subscription.id,
      allowance,
      priority: ALLOWANCE_PRIORITY + Math.min(place, 49),
      periodIndex: period.index,
      periodStartMs: period.startMs,
      periodEndMs: period.endMs,
      validUntilMs,
      earlierIds,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// The run

class Totals {
  subscriptions = 0;
  bucketsOpened = 0;
  alreadyGranted = 0;
  readonly units = new Map<BaseUnit, bigint>();
  readonly cut = new Map<BaseUnit, bigint>();
  readonly problems: GrantProblem[] = [];
}

function textOf(map: ReadonlyMap<BaseUnit, bigint>): Partial<Record<BaseUnit, string>> {
  return Object.fromEntries(
    [...map].sort(([a], [b]) => compareText(a, b)).map(([unit, n]) => [unit, `${n}`]),
  );
}

/** Grant runs of one tenant, one at a time in this process (see the module comment). */
const runs = new Map<string, Promise<unknown>>();

/**
 * Grants the allowances of every due prepaid and hybrid subscription of the caller's tenant for the
 * periods that contain `atMs` (default now). Running it again in the same periods grants nothing.
 */
export async function grantAllowances(
  deps: ChargingAdminDeps,
  caller: Caller,
  input: GrantAllowancesInput = {},
): Promise<GrantRunResult> {
  const previous = runs.get(caller.tenantId) ?? Promise.resolve();
  const run = previous.then(
    () => grantRun(deps, caller, input),
    () => grantRun(deps, caller, input),
  );
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  runs.set(caller.tenantId, settled);
  try {
    return await run;
  } finally {
    if (runs.get(caller.tenantId) === settled) runs.delete(caller.tenantId);
  }
}

async function grantRun(
  deps: ChargingAdminDeps,
  caller: Caller,
  input: GrantAllowancesInput,
): Promise<GrantRunResult> {
  const atMs = input.atMs ?? deps.clock.nowMs();
  const at = instantFromMs(atMs);
  const tenantId = caller.tenantId;
  const db = readExecutor(deps);
  const catalog = await OfferVersions.load(deps, tenantId);
  const totals = new Totals();
  // Keyset pages in id order: a page is one range read, where offset paging read and skipped
  // every row before the page and counted them all again, quadratic in a large tenant.
  const filter = { status: 'active', asOf: at } as const;
  const total = await countSubscriptions(db, tenantId, filter);
  const pageSize = input.pageSize ?? PAGE_SIZE;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1)
    throw new Error(`page size ${pageSize} is not 1 or more`);
  let afterId: string | undefined;
  let done = 0;
  // The account pools this run has dealt with: an account's subscriptions can fall on several
  // pages, and its pool is granted (or found granted) once, with the first of them.
  const poolsOfRun = new Set<string>();
  for (;;) {
    const items = await listSubscriptionsAfter(db, tenantId, filter, afterId, pageSize);
    if (items.length === 0) break;
    afterId = items[items.length - 1]!.id;
    done += items.length;
    const started = items.filter(
      (s) =>
        msFromInstant(s.startDate) <= atMs &&
        (s.terminationDate === undefined || msFromInstant(s.terminationDate) > atMs),
    );
    const accounts = new Map(
      (
        await accountsByIds(
          db,
          tenantId,
          started.map((s) => s.accountId),
        )
      ).map((a) => [a.id, a]),
    );
    const due = started.filter((s) => {
      const account = accounts.get(s.accountId);
      return account !== undefined && account.status === 'active' && account.ratingType !== 'postpaid';
    });
    const ids = due.map((s) => s.id);
    const changes = groupBy(await listOfferChanges(db, tenantId, ids), (c) => c.subscriptionId);
    const addOns = groupBy(await listAddOns(db, tenantId, ids), (a) => a.subscriptionId);
    // Per account, its subscriptions' buckets by id (a pool once: the first subscription by id
    // decides, on this page and, through poolsOfRun, on the pages after it).
    const byAccount = new Map<string, Map<string, GrantSpec>>();
    for (const subscription of due) {
      const holder: Holder = {
        subscription,
        account: accounts.get(subscription.accountId)!,
        offerChanges: changes.get(subscription.id) ?? [],
        addOns: addOns.get(subscription.id) ?? [],
      };
      const held = allowancesHeld(holder, catalog, atMs, totals.problems);
      if (held === undefined) continue;
      totals.subscriptions++;
      let specs = byAccount.get(subscription.accountId);
      if (specs === undefined) byAccount.set(subscription.accountId, (specs = new Map()));
      for (const spec of specsOf(holder, held, atMs)) {
        if (specs.has(spec.id) || poolsOfRun.has(spec.id)) continue;
        specs.set(spec.id, spec);
        if (spec.ownerKind === 'account') poolsOfRun.add(spec.id);
      }
    }
    // The buckets each account has already (one query per account), then every grant of the page,
    // many at once: buckets are independent of each other, and the engine's calls of one turn
    // join one group commit.
    const grants: Array<{ account: BillingAccount; spec: GrantSpec; row: store.BalanceRow | undefined }> = [];
    await inParallel([...byAccount], CONCURRENT_READS, async ([accountId, specs]) => {
      const account = accounts.get(accountId)!;
      const stored = new Map(
        (await store.listAccountBalances(db, tenantId, accountId)).map((row) => [row.balance.id, row]),
      );
      for (const spec of specs.values()) grants.push({ account, spec, row: stored.get(spec.id) });
    });
    const changesToRecord: ChangeRecord[] = [];
    await inParallel(grants, CONCURRENT_GRANTS, async ({ account, spec, row }) => {
      try {
        await grantOne(deps, tenantId, account, spec, row, atMs, totals, changesToRecord);
      } catch (error) {
        totals.problems.push({
          accountId: account.id,
          subscriptionId: spec.subscriptionId,
          allowance: spec.allowance.code,
          message: error instanceof Error ? error.message : String(error),
        });
      }
    });
    if (changesToRecord.length > 0) {
      await runChange(deps, caller, async (ctx) => {
        for (const change of changesToRecord) await recordChange(ctx, change);
      });
    }
    input.onProgress?.({
      // Subscriptions activated during the run can make the pages hold more than were counted.
      done,
      total: Math.max(total, done),
      subscriptions: totals.subscriptions,
      granted: totals.bucketsOpened,
    });
    if (items.length < pageSize || input.signal?.aborted === true) break;
  }
  return {
    at,
    subscriptions: totals.subscriptions,
    bucketsOpened: totals.bucketsOpened,
    alreadyGranted: totals.alreadyGranted,
    unitsGranted: textOf(totals.units),
    rolloverCut: textOf(totals.cut),
    problems: totals.problems,
  };
}

/**
 * Opens (unless `row` shows it open) and grants one bucket; the audit records go to `changes`.
 * Nothing when the bucket has movements: its first movement is its grant.
 */
async function grantOne(
  deps: ChargingAdminDeps,
  tenantId: string,
  account: BillingAccount,
  spec: GrantSpec,
  row: store.BalanceRow | undefined,
  atMs: number,
  totals: Totals,
  changes: ChangeRecord[],
): Promise<void> {
  const engine = deps.charging;
  const { allowance } = spec;
  // A bucket's first movement is its grant: with movements, it has been granted.
  if (row !== undefined && row.balance.version > 0) {
    totals.alreadyGranted++;
    return;
  }
  if (row === undefined) {
    const definition: BalanceDefinition = {
      id: spec.id,
      ownerKind: spec.ownerKind,
      ownerId: spec.ownerId,
      unit: allowance.unit,
      validFromMs: spec.periodStartMs,
      validUntilMs: spec.validUntilMs,
      priority: spec.priority,
      services: [allowance.service],
      ...(allowance.zones === undefined ? {} : { zones: allowance.zones }),
    };
    try {
      await engine.openBalance(tenantId, account.id, account.currency, definition);
    } catch (error) {
      // Opened (in memory) by a run that failed to grant: grant it below.
      const exists = isTollgateError(error) && error.code === ChargingErrors.invalid_balance.code;
      if (!exists || !/already exists/.test(error.message)) throw error;
    }
  }
  await applyRolloverCap(deps, tenantId, account.id, spec, atMs, totals, changes);
  const reference = grantReference(allowance.code, spec.periodStartMs);
  const outcome = await engine.move(tenantId, account.id, 'grant', {
    balanceId: spec.id,
    amount: allowance.quantity,
    reference,
    atMs,
  });
  if (outcome.code !== 'ok') {
    throw fail(
      ChargingErrors[outcome.code],
      `grant of ${allowance.code} into ${spec.id} refused: ${outcome.code}`,
      {
        record: spec.id,
      },
    );
  }
  totals.bucketsOpened++;
  totals.units.set(allowance.unit, (totals.units.get(allowance.unit) ?? 0n) + allowance.quantity);
  const payload = {
    balanceId: spec.id,
    accountId: account.id,
    ownerKind: spec.ownerKind,
    ownerId: spec.ownerId,
    subscriptionId: spec.subscriptionId,
    offerCode: allowance.offerCode,
    allowance: allowance.code,
    service: allowance.service,
    zones: allowance.zones ?? null,
    unit: allowance.unit,
    amount: `${allowance.quantity}`,
    periodStart: instantFromMs(spec.periodStartMs),
    periodEnd: instantFromMs(spec.periodEndMs),
    validUntil: instantFromMs(spec.validUntilMs),
    priority: spec.priority,
    reference,
  };
  changes.push({
    action: 'balance.allowance_granted',
    entityType: 'balance',
    entityId: spec.id,
    after: payload,
    event: { type: 'balance.allowance_granted', payload },
  });
}

/**
 * Rollover maxQuantity: what is left of the earlier buckets still valid at the period's start,
 * beyond maxQuantity, is taken off, the oldest first (see the module comment). Once per bucket
 * and period (adjustOnce by reference).
 */
async function applyRolloverCap(
  deps: ChargingAdminDeps,
  tenantId: string,
  accountId: string,
  spec: GrantSpec,
  atMs: number,
  totals: Totals,
  changes: ChangeRecord[],
): Promise<void> {
  const maxQuantity = spec.allowance.maxQuantity;
  if (maxQuantity === undefined || spec.earlierIds.length === 0) return;
  const state = await deps.charging.accountState(tenantId, accountId);
  const earlier = spec.earlierIds.flatMap((id) => {
    const balance = state.balances.get(id);
    return balance !== undefined && (balance.validUntilMs ?? FOREVER) > spec.periodStartMs ? [balance] : [];
  });
  let excess = earlier.reduce((sum, balance) => sum + availableOf(balance), 0n) - maxQuantity;
  const reference = `rollover cap ${spec.allowance.code} ${instantFromMs(spec.periodStartMs)}`;
  for (const balance of earlier) {
    if (excess <= 0n) break;
    const left = availableOf(balance);
    const cut = left < excess ? left : excess;
    if (cut <= 0n) continue;
    excess -= cut;
    const outcome = await deps.charging.adjustOnce(tenantId, accountId, {
      balanceId: balance.id,
      amount: -cut,
      reference,
      atMs,
    });
    if (outcome.code !== 'ok' || outcome.replayed) continue;
    const movement = outcome.movements[0]!;
    totals.cut.set(spec.allowance.unit, (totals.cut.get(spec.allowance.unit) ?? 0n) + cut);
    const payload = {
      balanceId: balance.id,
      accountId,
      amount: `${movement.amount}`,
      balanceAfter: `${movement.balanceAfter}`,
      unit: spec.allowance.unit,
      reason: reference,
      seq: movement.seq,
    };
    changes.push({
      action: 'balance.adjusted',
      entityType: 'balance',
      entityId: balance.id,
      after: payload,
      event: { type: 'balance.adjusted', payload },
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

function groupBy<T>(list: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of list) {
    const k = key(item);
    let group = out.get(k);
    if (group === undefined) out.set(k, (group = []));
    group.push(item);
  }
  return out;
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * The periodic grants of `tollgate serve` (TOLLGATE_CHARGING_GRANT_SECONDS): grantAllowances for
 * every tenant. Returns what each tenant with work or problems got.
 */
export async function grantAllowancesOfAllTenants(
  deps: ChargingAdminDeps,
  signal?: AbortSignal,
): Promise<Array<{ tenantId: string; result: GrantRunResult }>> {
  const out: Array<{ tenantId: string; result: GrantRunResult }> = [];
  for (const tenant of await listTenants(deps)) {
    if (signal?.aborted === true) break;
    const tenantId = tenant.id;
    const result = await grantAllowances(
      deps,
      { tenantId, actor: { type: 'system', id: 'allowance-granter' } },
      signal === undefined ? {} : { signal },
    );
    if (result.bucketsOpened > 0 || result.problems.length > 0) out.push({ tenantId, result });
  }
  return out;
}
