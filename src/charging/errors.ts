/**
 * The closed set of outcomes of online charging.
 *
 * Charging answers every expected situation with a value, never an exception: a network element
 * asking for quota on an empty balance is business as usual, not a failure of the program. Each
 * code is listed once here with whether it is a success and whether the same request may succeed
 * later without the caller changing it (retryable). The failures are also declared with
 * `defineErrorCodes`, so a face that must turn one into a problem document or an exit code does
 * it through the one kernel table (`fail(ChargingErrors[code], detail)`).
 *
 * Only programming mistakes throw: an invalid balance definition, a movement history that does not
 * add up to its balance (`balance_mismatch`, an integrity failure).
 */
import { defineErrorCodes } from '../kernel/errors.js';

/** Every expected failure of charging, as kernel error codes (kind → HTTP status, exit code). */
export const ChargingErrors = defineErrorCodes('charging', {
  // Quota: the balances cannot pay for anything now. Another session's release, a top-up or the
  // next period's grant may change that, so the same request can succeed later.
  quota_limit_reached: { kind: 'conflict', title: 'Quota limit reached', retryable: true },
  spending_cap_reached: { kind: 'conflict', title: 'Spending cap reached', retryable: true },
  // No balance of the subscriber can ever pay for this service (none matches its unit, service,
  // rating group or zone): retrying the same request is pointless until the catalog changes.
  no_balance: { kind: 'conflict', title: 'No balance for the service' },
  user_unknown: { kind: 'not_found', title: 'Subscriber unknown' },
  rating_failed: { kind: 'validation', title: 'Rating failed' },
  reservation_not_found: { kind: 'not_found', title: 'Reservation not found' },
  reservation_expired: { kind: 'conflict', title: 'Reservation expired' },
  already_committed: { kind: 'conflict', title: 'Reservation already committed' },
  already_released: { kind: 'conflict', title: 'Reservation already released' },
  session_terminated: { kind: 'conflict', title: 'Charging session terminated' },
  stale_request: { kind: 'conflict', title: 'Request number older than the last one seen' },
  request_mismatch: { kind: 'precondition', title: 'Request number reused with a different request' },
  invalid_request: { kind: 'validation', title: 'Invalid charging request' },
  balance_not_found: { kind: 'not_found', title: 'Balance not found' },
  insufficient_balance: { kind: 'conflict', title: 'Insufficient balance' },
  invalid_balance: { kind: 'validation', title: 'Invalid balance definition' },
  balance_mismatch: { kind: 'integrity', title: 'Balance does not match its movements' },
});

/** The failure codes, by short name. */
export type ChargingFailureCode = keyof typeof ChargingErrors;

/** The success codes: a grant, a commit, a release, a movement posted, a request handled. */
export type ChargingSuccessCode = 'ok' | 'granted' | 'partially_granted' | 'committed' | 'released';

/** Every outcome code of charging. */
export type ChargingCode = ChargingSuccessCode | ChargingFailureCode;

export interface ChargingCodeInfo {
  readonly success: boolean;
  /** True when the same request may succeed later without the caller changing it. */
  readonly retryable: boolean;
  readonly title: string;
}

const SUCCESS: Readonly<Record<ChargingSuccessCode, string>> = {
  ok: 'Done',
  granted: 'Quota granted in full',
  partially_granted: 'Quota granted in part; these are the final units',
  committed: 'Used units charged, the rest released',
  released: 'Reservation released',
};

function buildCodeTable(): Readonly<Record<ChargingCode, ChargingCodeInfo>> {
  const table: Record<string, ChargingCodeInfo> = {};
  for (const [code, title] of Object.entries(SUCCESS)) {
    table[code] = { success: true, retryable: false, title };
  }
  for (const [code, definition] of Object.entries(ChargingErrors)) {
    table[code] = { success: false, retryable: definition.retryable, title: definition.title };
  }
  return Object.freeze(table) as Readonly<Record<ChargingCode, ChargingCodeInfo>>;
}

/** Every outcome code with whether it is a success and whether it is retryable. */
export const CHARGING_CODES: Readonly<Record<ChargingCode, ChargingCodeInfo>> = buildCodeTable();

export function isRetryable(code: ChargingCode): boolean {
  return CHARGING_CODES[code].retryable;
}

export function isSuccess(code: ChargingCode): boolean {
  return CHARGING_CODES[code].success;
}
