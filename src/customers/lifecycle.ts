/**
 * Lifecycles (pure): which status changes are allowed, and which need a reason.
 *
 * Subscriptions:
 *
 *   pending ──activate──> active ──suspend──> suspended
 *      │                   │  ^ ──bar──────> barred
 *      │                   │  └──resume/unbar── suspended, barred
 *      └──cancel──┐        │
 *                 v        v
 *               terminated (final; every other status may terminate)
 *
 * - `pending`: ordered, not yet in service. `active`: in service.
 * - `suspended`: service paused, typically at the customer's request (holiday, lost phone).
 * - `barred`: service blocked by the operator (non-payment, credit limit, fraud, regulation).
 *   Suspended and barred may turn into each other, e.g. a suspended line that is then barred.
 * - `terminated`: ended for good; no identity, add-on or plan change can follow.
 *
 * A reason is required to suspend, bar or terminate, so the history says why service stopped;
 * activating and resuming take an optional one.
 *
 * Billing accounts: active <-> suspended, either -> closed (final). Customers: active -> closed.
 */
import { fail } from '../kernel/errors.js';
import { CustomersErrors } from './errors.js';

export const SUBSCRIPTION_STATUSES = ['pending', 'active', 'suspended', 'barred', 'terminated'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

export function isSubscriptionStatus(value: unknown): value is SubscriptionStatus {
  return typeof value === 'string' && (SUBSCRIPTION_STATUSES as readonly string[]).includes(value);
}

/** The statuses a subscription may move to from each status. */
export const SUBSCRIPTION_TRANSITIONS: Readonly<Record<SubscriptionStatus, readonly SubscriptionStatus[]>> = {
  pending: ['active', 'terminated'],
  active: ['suspended', 'barred', 'terminated'],
  suspended: ['active', 'barred', 'terminated'],
  barred: ['active', 'suspended', 'terminated'],
  terminated: [],
};

/** The statuses a subscription may be created in. */
export const INITIAL_SUBSCRIPTION_STATUSES: readonly SubscriptionStatus[] = ['pending', 'active'];

const REASON_REQUIRED: ReadonlySet<SubscriptionStatus> = new Set(['suspended', 'barred', 'terminated']);

export function canTransition(from: SubscriptionStatus, to: SubscriptionStatus): boolean {
  return SUBSCRIPTION_TRANSITIONS[from].includes(to);
}

export function reasonRequired(to: SubscriptionStatus): boolean {
  return REASON_REQUIRED.has(to);
}

/** What a transition is called, for events and messages. */
export function transitionName(from: SubscriptionStatus, to: SubscriptionStatus): string {
  if (to === 'terminated') return from === 'pending' ? 'cancel' : 'terminate';
  if (to === 'active') return from === 'pending' ? 'activate' : from === 'barred' ? 'unbar' : 'resume';
  if (to === 'suspended') return 'suspend';
  if (to === 'barred') return 'bar';
  return `${from}->${to}`;
}

/**
 * Checks one status change: allowed from the current status, with a non-empty reason where one is
 * required. Throws `customers.invalid_transition` (naming the allowed targets) or
 * `customers.reason_required`. Returns the trimmed reason.
 */
export function checkTransition(
  from: SubscriptionStatus,
  to: SubscriptionStatus,
  reason: string | undefined,
  field = 'status',
): string | undefined {
  if (from === to) {
    throw fail(CustomersErrors.invalid_transition, `the subscription is already ${to}`, { field });
  }
  if (!canTransition(from, to)) {
    const allowed = SUBSCRIPTION_TRANSITIONS[from];
    throw fail(
      CustomersErrors.invalid_transition,
      `a ${from} subscription cannot become ${to}; ` +
        (allowed.length === 0 ? `${from} is final` : `from ${from} it may become ${allowed.join(' or ')}`),
      { field, extra: { from, to, allowed } },
    );
  }
  const trimmed = reason?.trim();
  if (reasonRequired(to) && !trimmed) {
    throw fail(
      CustomersErrors.reason_required,
      `say why the subscription becomes ${to} (a reason is required)`,
      {
        field: 'reason',
      },
    );
  }
  return trimmed === '' ? undefined : trimmed;
}

// ---------------------------------------------------------------------------------------------
// Billing accounts and customers

export type AccountLifecycleStatus = 'active' | 'suspended' | 'closed';

export const ACCOUNT_TRANSITIONS: Readonly<
  Record<AccountLifecycleStatus, readonly AccountLifecycleStatus[]>
> = {
  active: ['suspended', 'closed'],
  suspended: ['active', 'closed'],
  closed: [],
};

export function checkAccountTransition(
  from: AccountLifecycleStatus,
  to: AccountLifecycleStatus,
  field = 'status',
): void {
  if (from === to) return;
  if (!ACCOUNT_TRANSITIONS[from].includes(to)) {
    const allowed = ACCOUNT_TRANSITIONS[from];
    throw fail(
      CustomersErrors.invalid_transition,
      `a ${from} billing account cannot become ${to}; ` +
        (allowed.length === 0 ? `${from} is final` : `from ${from} it may become ${allowed.join(' or ')}`),
      { field },
    );
  }
}

export type CustomerLifecycleStatus = 'active' | 'closed';

export function checkCustomerTransition(
  from: CustomerLifecycleStatus,
  to: CustomerLifecycleStatus,
  field = 'status',
): void {
  if (from === to) return;
  if (from === 'closed') {
    throw fail(CustomersErrors.invalid_transition, 'a closed customer cannot be reopened; create a new one', {
      field,
    });
  }
}
