/**
 * Background work of a server process: the webhook dispatcher and housekeeping (forgetting
 * Idempotency-Key responses past their retention). Several processes may run these at once
 * against one PostgreSQL: deliveries are claimed with a lease, and purging is idempotent.
 */
import type { Config } from '../kernel/config.js';
import type { Clock } from '../kernel/clock.js';
import { instantFromMs } from '../kernel/clock.js';
import { WebhookDispatcher } from '../events/index.js';
import { purgeStoredResponses } from '../idempotency/index.js';
import type { Database } from '../storage/database.js';
import type { ChargingEngine } from './charging.js';
import { sweepExpiredReservations } from './charging-admin.js';
import { grantAllowancesOfAllTenants } from './charging-grants.js';

const HOUSEKEEPING_INTERVAL_MS = 15 * 60_000;

export interface BackgroundDeps {
  readonly config: Config;
  readonly database: Database;
  readonly clock: Clock;
  /**
   * The process's charging engine: its expired reservations are swept (chargingSweepSeconds) and
   * the allowances of prepaid and hybrid subscriptions granted (chargingGrantSeconds).
   */
  readonly charging?: ChargingEngine;
  readonly logger: {
    info(obj: Record<string, unknown>, msg: string): void;
    warn(obj: Record<string, unknown>, msg: string): void;
    error(obj: Record<string, unknown>, msg: string): void;
    child(bindings: Record<string, unknown>): BackgroundDeps['logger'];
  };
}

export interface BackgroundJobs {
  stop(): Promise<void>;
}

export async function purgeIdempotencyKeys(
  deps: Pick<BackgroundDeps, 'config' | 'database' | 'clock'>,
): Promise<number> {
  const cutoff = instantFromMs(deps.clock.nowMs() - deps.config.idempotencyRetentionHours * 3_600_000);
  return purgeStoredResponses(deps.database.db, cutoff);
}

export function startBackgroundJobs(deps: BackgroundDeps): BackgroundJobs {
  const logger = deps.logger.child({ component: 'background' });
  let dispatcher: WebhookDispatcher | undefined;
  if (deps.config.webhooksEnabled) {
    dispatcher = new WebhookDispatcher({
      database: deps.database,
      clock: deps.clock,
      logger: deps.logger.child({ component: 'webhooks' }),
      intervalMs: deps.config.webhookPollMs,
      timeoutMs: deps.config.webhookTimeoutMs,
      backoff: { maxAttempts: deps.config.webhookMaxAttempts },
    });
    dispatcher.start();
  }
  const housekeeping = async () => {
    try {
      const purged = await purgeIdempotencyKeys(deps);
      if (purged > 0) logger.info({ purged }, 'forgot expired Idempotency-Key responses');
    } catch (error) {
      logger.error({ err: error }, 'housekeeping failed; will try again');
    }
  };
  const timer = setInterval(() => void housekeeping(), HOUSEKEEPING_INTERVAL_MS);
  timer.unref();
  void housekeeping();

  // The reservation sweep: one at a time (a slow sweep is not started again under itself).
  const charging = deps.charging;
  let sweeping: Promise<void> | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;
  if (charging !== undefined && deps.config.chargingSweepSeconds > 0) {
    const sweep = async () => {
      try {
        for (const { tenantId, expired } of await sweepExpiredReservations({ ...deps, charging })) {
          logger.info({ tenantId, expired }, 'released expired reservations');
        }
      } catch (error) {
        logger.error({ err: error }, 'reservation sweep failed; will try again');
      }
    };
    sweepTimer = setInterval(() => {
      sweeping ??= sweep().finally(() => (sweeping = undefined));
    }, deps.config.chargingSweepSeconds * 1000);
    sweepTimer.unref();
    // At start too: reservations of a process that stopped may be long past their validity.
    sweeping = sweep().finally(() => (sweeping = undefined));
  }

  // The allowance grants (charging-grants.ts): idempotent per bucket and period, so a run that
  // finds everything granted changes nothing; one at a time, like the sweep.
  let granting: Promise<void> | undefined;
  let grantTimer: NodeJS.Timeout | undefined;
  // Stopping ends a long run between two pages of subscriptions; the next start grants the rest.
  const stopGrants = new AbortController();
  if (charging !== undefined && deps.config.chargingGrantSeconds > 0) {
    const grant = async () => {
      try {
        for (const { tenantId, result } of await grantAllowancesOfAllTenants(
          { ...deps, charging },
          stopGrants.signal,
        )) {
          const { subscriptions, bucketsOpened, unitsGranted, rolloverCut, problems } = result;
          logger.info(
            { tenantId, subscriptions, bucketsOpened, unitsGranted, rolloverCut, problems: problems.length },
            'granted allowance buckets',
          );
          for (const problem of problems.slice(0, 20))
            logger.warn({ tenantId, ...problem }, 'allowance not granted');
        }
      } catch (error) {
        logger.error({ err: error }, 'allowance grants failed; will try again');
      }
    };
    grantTimer = setInterval(() => {
      granting ??= grant().finally(() => (granting = undefined));
    }, deps.config.chargingGrantSeconds * 1000);
    grantTimer.unref();
    // At start too: a period may have begun while no server ran.
    granting = grant().finally(() => (granting = undefined));
  }
  return {
    async stop() {
      clearInterval(timer);
      if (sweepTimer !== undefined) clearInterval(sweepTimer);
      if (grantTimer !== undefined) clearInterval(grantTimer);
      stopGrants.abort();
      await sweeping;
      await granting;
      await dispatcher?.stop();
    },
  };
}
