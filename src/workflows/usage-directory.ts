/**
 * The subscriber directory of a usage pipeline: who held an identity at an instant, with the
 * subscription's account, offer history and add-ons. It loads what a batch names in a few bulk
 * queries and keeps it for the pipeline's life, so a file of a million records from ten thousand
 * subscribers costs tens of queries, not a million.
 *
 * The directory is a cache of a moving target: a number ported during a long import is seen as
 * it was when the directory first loaded it. Imports are short next to how often numbers move,
 * and a record rated against a stale owner can be re-rated; a new pipeline (the next file) reads
 * afresh.
 */
import { msFromInstant } from '../kernel/clock.js';
import type { Database, Executor } from '../storage/database.js';
import type { AddOn, BillingAccount, IdentityType, OfferChange, Subscription } from '../customers/index.js';
import {
  accountsByIds,
  listAddOns,
  listAssignmentsOfValues,
  listOfferChanges,
  subscriptionsByIds,
} from '../customers/store.js';
import type { ReadItem } from '../usage/model.js';

/** A subscription as rating needs it, with its offer history and add-ons (times in ms). */
export interface Owner {
  readonly subscription: Subscription;
  readonly account: BillingAccount;
  /** Offer periods, oldest first: the offer in force from `fromMs` until the next one. */
  readonly offers: ReadonlyArray<{
    readonly offerId: string;
    readonly offerCode: string | undefined;
    readonly fromMs: number;
  }>;
  readonly addOns: ReadonlyArray<{
    readonly offerId: string;
    readonly offerCode: string | undefined;
    readonly fromMs: number;
    readonly toMs: number;
  }>;
}

interface Holding {
  readonly fromMs: number;
  readonly toMs: number;
  readonly owner: Owner;
}

const FOREVER = Number.MAX_SAFE_INTEGER;

export class SubscriberDirectory {
  /** type → value → holdings (empty array: known to be held by nobody, ever). */
  private readonly holdings = new Map<string, Map<string, Holding[]>>();
  private readonly owners = new Map<string, Owner>();

  constructor(
    private readonly database: Database,
    private readonly tenantId: string,
  ) {}

  /** Loads every identity the items' records name that is not known yet, a few queries per type. */
  async preload(items: readonly ReadItem[]): Promise<void> {
    const wanted = new Map<string, Set<string>>();
    for (const item of items) {
      if (item.kind !== 'record') continue;
      const { identityType, identity } = item.input;
      if (this.holdings.get(identityType)?.has(identity) === true) continue;
      let set = wanted.get(identityType);
      if (set === undefined) wanted.set(identityType, (set = new Set()));
      set.add(identity);
    }
    for (const [identityType, set] of wanted) await this.load(identityType, [...set]);
  }

  /** Loads one identity when it is not known yet (online charging asks one at a time). */
  async preloadIdentity(type: IdentityType, value: string): Promise<void> {
    if (this.holdings.get(type)?.has(value) === true) return;
    await this.load(type, [value]);
  }

  private async load(type: string, values: readonly string[]): Promise<void> {
    if (values.length === 0) return;
    const db = this.database.db;
    const assignments = await listAssignmentsOfValues(db, this.tenantId, type, values);
    const missing = [...new Set(assignments.map((a) => a.subscriptionId))].filter(
      (id) => !this.owners.has(id),
    );
    if (missing.length > 0) {
      const subscriptions = await subscriptionsByIds(db, this.tenantId, missing);
      const accounts = new Map(
        (
          await accountsByIds(
            db,
            this.tenantId,
            subscriptions.map((s) => s.accountId),
          )
        ).map((a) => [a.id, a]),
      );
      const offerChanges = groupBy(
        await listOfferChanges(db, this.tenantId, missing),
        (c) => c.subscriptionId,
      );
      const addOns = groupBy(await listAddOns(db, this.tenantId, missing), (a) => a.subscriptionId);
      for (const subscription of subscriptions) {
        const account = accounts.get(subscription.accountId);
        if (account === undefined) continue;
        this.owners.set(
          subscription.id,
          ownerOf(
            subscription,
            account,
            offerChanges.get(subscription.id) ?? [],
            addOns.get(subscription.id) ?? [],
          ),
        );
      }
    }
    let byValue = this.holdings.get(type);
    if (byValue === undefined) this.holdings.set(type, (byValue = new Map()));
    for (const value of values) byValue.set(value, []);
    for (const assignment of assignments) {
      const owner = this.owners.get(assignment.subscriptionId);
      if (owner === undefined) continue;
      (byValue.get(assignment.value) as Holding[]).push({
        fromMs: msFromInstant(assignment.validFrom),
        toMs: assignment.validTo === undefined ? FOREVER : msFromInstant(assignment.validTo),
        owner,
      });
    }
  }

  /** A subscription by id, with its account and history (re-rating reads records by subscription). */
  async ownerOfSubscription(db: Executor, subscriptionId: string): Promise<Owner | undefined> {
    const known = this.owners.get(subscriptionId);
    if (known !== undefined) return known;
    const [subscription] = await subscriptionsByIds(db, this.tenantId, [subscriptionId]);
    if (subscription === undefined) return undefined;
    const [account] = await accountsByIds(db, this.tenantId, [subscription.accountId]);
    if (account === undefined) return undefined;
    const owner = ownerOf(
      subscription,
      account,
      await listOfferChanges(db, this.tenantId, [subscriptionId]),
      await listAddOns(db, this.tenantId, [subscriptionId]),
    );
    this.owners.set(subscriptionId, owner);
    return owner;
  }

  /** The subscription holding the identity at `ms`, or undefined (never held, or not then). */
  ownerAt(type: IdentityType, value: string, ms: number): Owner | undefined {
    const list = this.holdings.get(type)?.get(value);
    if (list === undefined) return undefined;
    for (const holding of list) if (holding.fromMs <= ms && ms < holding.toMs) return holding.owner;
    return undefined;
  }
}

function ownerOf(
  subscription: Subscription,
  account: BillingAccount,
  offerChanges: readonly OfferChange[],
  addOns: readonly AddOn[],
): Owner {
  return {
    subscription,
    account,
    offers: [...offerChanges]
      .sort((a, b) => a.effectiveAt.localeCompare(b.effectiveAt) || a.recordedAt.localeCompare(b.recordedAt))
      .map((change) => ({
        offerId: change.offerId,
        offerCode: change.offerCode,
        fromMs: msFromInstant(change.effectiveAt),
      })),
    addOns: addOns.map((addOn) => ({
      offerId: addOn.offerId,
      offerCode: addOn.offerCode,
      fromMs: msFromInstant(addOn.validFrom),
      toMs: addOn.validTo === undefined ? FOREVER : msFromInstant(addOn.validTo),
    })),
  };
}

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
