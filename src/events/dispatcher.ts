/**
 * The webhook dispatcher: a polling loop that fans outbox events out to deliveries, then sends the
 * deliveries that are due, a bounded number at a time, and records every attempt.
 *
 * Polling the database, rather than pushing from the request that made the change, is what makes
 * delivery survive crashes and outages: the outbox and the deliveries are the queue, so a process
 * restart or a receiver that is down only delays events. Several dispatchers may run against one
 * database: fan-out is idempotent and claiming uses a compare-and-set lease (see store.ts).
 */
import type { Clock } from '../kernel/clock.js';
import { instantFromMs } from '../kernel/clock.js';
import { CommonErrors, fail } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import type { Database } from '../storage/database.js';
import {
  afterFailure,
  cryptoRandom,
  resolveBackoff,
  type BackoffPolicy,
  type RandomSource,
} from './backoff.js';
import { webhookHeaders } from './signing.js';
import {
  claimDueDeliveries,
  fanOutPending,
  recordAttempt,
  type AttemptOutcome,
  type ClaimedDelivery,
} from './store.js';

/** The subset of a pino logger the dispatcher uses: structured fields first, then the message. */
export interface DispatcherLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export interface WebhookDispatcherOptions {
  readonly database: Database;
  readonly clock: Clock;
  readonly logger?: DispatcherLogger;
  /** Uniform random numbers in [0, 1) for the backoff jitter; tests pass a fixed one. */
  readonly random?: RandomSource;
  /** Pause between polls when there is nothing left to do. Default 1 s. */
  readonly intervalMs?: number;
  /** Deliveries sent at the same time. Default 8. */
  readonly concurrency?: number;
  /** Time allowed for one request, response body included. Default 10 s. */
  readonly timeoutMs?: number;
  /** Events fanned out and deliveries sent per poll, at most. Default 100. */
  readonly batchSize?: number;
  /** How long a claimed delivery is hidden from other dispatchers. Default: timeout + 60 s. */
  readonly leaseMs?: number;
  readonly backoff?: Partial<BackoffPolicy>;
}

/** What one poll did. */
export interface DispatchReport {
  readonly fannedOutEvents: number;
  readonly createdDeliveries: number;
  readonly attempted: number;
  readonly succeeded: number;
  /** Attempts that failed and will be retried. */
  readonly retrying: number;
  /** Attempts that failed for the last time: their deliveries are now failed. */
  readonly failed: number;
}

/** The JSON body of a delivery, as receivers see it. */
export interface WebhookPayload {
  readonly id: string;
  readonly type: string;
  readonly occurredAt: string;
  readonly tenantId: string;
  readonly entity: { readonly type: string; readonly id: string };
  readonly data: unknown;
}

const USER_AGENT = 'Tollgate-Webhooks/1';
const RESPONSE_EXCERPT_BYTES = 1024;

interface SendResult {
  readonly statusCode: number | undefined;
  readonly error: string | undefined;
  readonly responseExcerpt: string | undefined;
}

export function webhookPayload(delivery: ClaimedDelivery): WebhookPayload {
  const { event } = delivery;
  return {
    id: event.id,
    type: event.type,
    occurredAt: event.occurredAt,
    tenantId: event.tenantId,
    entity: { type: event.entityType, id: event.entityId },
    data: event.payload,
  };
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved < 1) {
    throw fail(CommonErrors.invalid_config, `webhook dispatcher: ${name} must be a whole number >= 1`, {
      field: name,
    });
  }
  return resolved;
}

/** Describes a failed fetch without echoing anything secret (the request headers are never in it). */
function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `timeout: no complete response within ${timeoutMs} ms`;
  }
  // undici reports network failures as TypeError('fetch failed') with the system error as cause.
  const cause =
    error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (cause && typeof cause.message === 'string') {
    return typeof cause.code === 'string' && !cause.message.includes(cause.code)
      ? `${cause.code}: ${cause.message}`
      : cause.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Reads at most `limit` bytes of a response body, then lets the rest go. */
async function readExcerpt(response: Response, limit: number): Promise<string | undefined> {
  if (!response.body) return undefined;
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  if (size === 0) return undefined;
  const bytes = Buffer.concat(parts).subarray(0, limit);
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}

export class WebhookDispatcher {
  private readonly database: Database;
  private readonly clock: Clock;
  private readonly logger: DispatcherLogger | undefined;
  private readonly random: RandomSource;
  private readonly intervalMs: number;
  private readonly concurrency: number;
  private readonly timeoutMs: number;
  private readonly batchSize: number;
  private readonly leaseMs: number;
  private readonly backoff: BackoffPolicy;

  private running = false;
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<unknown> | undefined;

  constructor(options: WebhookDispatcherOptions) {
    this.database = options.database;
    this.clock = options.clock;
    this.logger = options.logger;
    this.random = options.random ?? cryptoRandom;
    this.intervalMs = positiveInteger('intervalMs', options.intervalMs, 1000);
    this.concurrency = positiveInteger('concurrency', options.concurrency, 8);
    this.timeoutMs = positiveInteger('timeoutMs', options.timeoutMs, 10_000);
    this.batchSize = positiveInteger('batchSize', options.batchSize, 100);
    this.leaseMs = positiveInteger('leaseMs', options.leaseMs, this.timeoutMs + 60_000);
    if (this.leaseMs <= this.timeoutMs) {
      throw fail(CommonErrors.invalid_config, 'webhook dispatcher: leaseMs must exceed timeoutMs', {
        field: 'leaseMs',
      });
    }
    try {
      this.backoff = resolveBackoff(options.backoff);
    } catch (error) {
      throw fail(CommonErrors.invalid_config, `webhook dispatcher: ${(error as Error).message}`, {
        field: 'backoff',
        cause: error,
      });
    }
  }

  /** Starts polling. Each poll runs right after the previous one when it had a full batch. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    this.schedule(0);
  }

  /** Stops polling and resolves once the requests in flight have finished and been recorded. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.current?.catch(() => undefined);
    this.stopping = false;
  }

  /**
   * One poll: fans out a batch of events, then sends the deliveries due now (up to a batch),
   * `concurrency` at a time. Tests call it directly with a fake clock; polls never overlap.
   */
  async runOnce(): Promise<DispatchReport> {
    while (this.current) await this.current.catch(() => undefined);
    const run = this.poll();
    this.current = run;
    try {
      return await run;
    } finally {
      this.current = undefined;
    }
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick();
    }, delayMs);
  }

  private async tick(): Promise<void> {
    let busy = false;
    try {
      const report = await this.runOnce();
      busy = report.fannedOutEvents >= this.batchSize || report.attempted >= this.batchSize;
    } catch (error) {
      // A database outage must not end the loop: log it and try again on the next poll.
      this.logger?.error(
        { err: error instanceof Error ? error.message : String(error) },
        'webhook dispatch failed',
      );
    }
    this.schedule(busy ? 0 : this.intervalMs);
  }

  private async poll(): Promise<DispatchReport> {
    const fanOut = await fanOutPending(this.database, this.clock, this.batchSize);
    const counts = { attempted: 0, succeeded: 0, pending: 0, failed: 0 };
    let budget = this.batchSize;
    const inFlight = new Set<Promise<void>>();

    // One loop claims as many deliveries as there are free slots, so the workers of one process
    // never race each other for the same rows, and a delivery is leased only once a slot is ready
    // to send it: a slow receiver holds one slot rather than delaying a whole claimed batch.
    while (budget > 0 && !this.stopping) {
      const free = this.concurrency - inFlight.size;
      if (free === 0) {
        await Promise.race(inFlight);
        continue;
      }
      const batch = await claimDueDeliveries(this.database, this.clock.now(), Math.min(free, budget), {
        leaseMs: this.leaseMs,
      });
      if (batch.length === 0) break;
      budget -= batch.length;
      for (const delivery of batch) {
        counts.attempted += 1;
        const sending: Promise<void> = this.deliver(delivery)
          .then((status) => {
            counts[status] += 1;
          })
          .catch((error: unknown) => {
            // deliver() handles its own failures; this only guards the loop against a bug.
            counts.pending += 1;
            this.logger?.error(
              {
                deliveryId: delivery.deliveryId,
                err: error instanceof Error ? error.message : String(error),
              },
              'webhook delivery crashed',
            );
          })
          .finally(() => inFlight.delete(sending));
        inFlight.add(sending);
      }
    }
    await Promise.all(inFlight);

    return {
      fannedOutEvents: fanOut.events,
      createdDeliveries: fanOut.deliveries,
      attempted: counts.attempted,
      succeeded: counts.succeeded,
      retrying: counts.pending,
      failed: counts.failed,
    };
  }

  /** Sends one delivery and records the attempt; returns the delivery's new status. */
  private async deliver(delivery: ClaimedDelivery): Promise<AttemptOutcome['status']> {
    const attempt = delivery.attempts + 1;
    const startedMs = this.clock.nowMs();
    const result = await this.send(delivery, Math.floor(startedMs / 1000));
    const finishedMs = this.clock.nowMs();
    const ok = result.statusCode !== undefined && result.statusCode >= 200 && result.statusCode < 300;

    let outcome: AttemptOutcome;
    if (ok) {
      outcome = { status: 'succeeded' };
    } else {
      const decision = afterFailure(attempt, this.random, this.backoff);
      outcome =
        decision.status === 'pending'
          ? { status: 'pending', nextAttemptAt: instantFromMs(finishedMs + decision.delayMs) }
          : { status: 'failed' };
    }

    // The log names the host only: a URL's path or query may carry a token of the receiver's.
    const fields = {
      deliveryId: delivery.deliveryId,
      subscriptionId: delivery.subscriptionId,
      eventId: delivery.event.id,
      eventType: delivery.event.type,
      tenantId: delivery.tenantId,
      host: new URL(delivery.url).host,
      attempt,
      statusCode: result.statusCode,
      error: result.error,
    };
    let applied: boolean;
    try {
      applied = await recordAttempt(this.database, {
        id: newId('wha', this.clock),
        tenantId: delivery.tenantId,
        deliveryId: delivery.deliveryId,
        attempt,
        startedAt: instantFromMs(startedMs),
        durationMs: finishedMs - startedMs,
        statusCode: result.statusCode,
        error: result.error ?? (ok ? undefined : `receiver answered HTTP ${result.statusCode}`),
        responseExcerpt: result.responseExcerpt,
        outcome,
        recordedAt: instantFromMs(finishedMs),
      });
    } catch (error) {
      // The delivery keeps its lease and is sent again when the lease runs out: at least once.
      this.logger?.error(
        { ...fields, err: error instanceof Error ? error.message : String(error) },
        'could not record a webhook attempt',
      );
      return 'pending';
    }
    if (!applied) {
      // Our lease ran out mid-send and another dispatcher already closed the delivery; the
      // attempt is in the log, and the delivery keeps the state the other dispatcher gave it.
      this.logger?.warn(fields, 'webhook attempt recorded after another dispatcher closed the delivery');
    }

    if (outcome.status === 'succeeded') this.logger?.info(fields, 'webhook delivered');
    else if (outcome.status === 'pending') {
      this.logger?.warn(
        { ...fields, nextAttemptAt: outcome.nextAttemptAt },
        'webhook attempt failed, will retry',
      );
    } else this.logger?.error(fields, 'webhook delivery failed after the last attempt');
    return outcome.status;
  }

  private async send(delivery: ClaimedDelivery, timestampSec: number): Promise<SendResult> {
    const body = JSON.stringify(webhookPayload(delivery));
    const headers = {
      ...webhookHeaders({
        eventId: delivery.event.id,
        eventType: delivery.event.type,
        deliveryId: delivery.deliveryId,
        body,
        secret: delivery.secret,
        timestampSec,
      }),
      'user-agent': USER_AGENT,
    };
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      // Redirects are not followed: a 3xx is a failure the subscriber should fix by updating the
      // URL, and following them would let a receiver steer signed requests somewhere else.
      const response = await fetch(delivery.url, {
        method: 'POST',
        headers,
        body,
        signal,
        redirect: 'manual',
      });
      let responseExcerpt: string | undefined;
      try {
        responseExcerpt = await readExcerpt(response, RESPONSE_EXCERPT_BYTES);
      } catch {
        // The status is what counts; a body cut short by the timeout leaves no excerpt.
        responseExcerpt = undefined;
      }
      return { statusCode: response.status, error: undefined, responseExcerpt };
    } catch (error) {
      return {
        statusCode: undefined,
        error: describeFetchError(error, this.timeoutMs),
        responseExcerpt: undefined,
      };
    }
  }
}
