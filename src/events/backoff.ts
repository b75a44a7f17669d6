/**
 * Retry schedule for webhook deliveries (pure).
 *
 * After the n-th failed attempt the next one waits a random time in [0, min(base * 2^(n-1), cap)]
 * ("full jitter"). The exponential ceiling gives a struggling receiver room to recover; the jitter
 * spreads the retries of many deliveries that failed together (a receiver outage fails them all at
 * once), so they do not come back as one burst when it recovers. After `maxAttempts` attempts the
 * delivery is marked failed: it stays in the log and an operator can retry it by hand.
 */
import { randomBytes } from 'node:crypto';

export interface BackoffPolicy {
  /** The ceiling of the first wait, in milliseconds. */
  readonly baseMs: number;
  /** The largest ceiling, in milliseconds, however many attempts have failed. */
  readonly capMs: number;
  /** How many attempts a delivery gets before it is marked failed. */
  readonly maxAttempts: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = {
  baseMs: 10_000,
  capMs: 60 * 60 * 1000,
  maxAttempts: 12,
};

/** A source of uniform random numbers in [0, 1). */
export type RandomSource = () => number;

/**
 * The default random source, from the operating system's CSPRNG: jitter needs no secrecy, but the
 * project reads randomness from one kind of source only, and 48 bits fill a double's mantissa well.
 */
export const cryptoRandom: RandomSource = () => randomBytes(6).readUIntBE(0, 6) / 2 ** 48;

export function resolveBackoff(overrides: Partial<BackoffPolicy> = {}): BackoffPolicy {
  const policy = { ...DEFAULT_BACKOFF, ...overrides };
  if (!Number.isSafeInteger(policy.baseMs) || policy.baseMs < 0) throw new RangeError('baseMs must be >= 0');
  if (!Number.isSafeInteger(policy.capMs) || policy.capMs < policy.baseMs) {
    throw new RangeError('capMs must be a whole number >= baseMs');
  }
  if (!Number.isSafeInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new RangeError('maxAttempts must be a whole number >= 1');
  }
  return policy;
}

/** The longest wait after the `attempt`-th failure (attempt >= 1): min(base * 2^(attempt-1), cap). */
export function backoffCeilingMs(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  if (!Number.isSafeInteger(attempt) || attempt < 1)
    throw new RangeError('attempt must be a whole number >= 1');
  // Past 2^52 the product is no longer exact, and the cap is reached long before that anyway.
  const exponent = Math.min(attempt - 1, 52);
  return Math.min(policy.baseMs * 2 ** exponent, policy.capMs);
}

/** The wait after the `attempt`-th failure: a uniform draw below the ceiling, in whole milliseconds. */
export function backoffDelayMs(
  attempt: number,
  random: RandomSource,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
): number {
  const ceiling = backoffCeilingMs(attempt, policy);
  // A misbehaving random source must not push the wait outside [0, ceiling].
  const draw = Math.min(Math.max(random(), 0), 1);
  return Math.min(Math.floor(draw * ceiling), ceiling);
}

export type RetryDecision =
  { readonly status: 'pending'; readonly delayMs: number } | { readonly status: 'failed' };

/** What follows the `attempt`-th failed attempt: another try after a delay, or giving up. */
export function afterFailure(
  attempt: number,
  random: RandomSource,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
): RetryDecision {
  if (attempt >= policy.maxAttempts) return { status: 'failed' };
  return { status: 'pending', delayMs: backoffDelayMs(attempt, random, policy) };
}
