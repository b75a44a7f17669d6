/**
 * The composition root: opens the database, runs migrations and holds what the use cases and the
 * faces (API, CLI) share. The only module besides the domains themselves that may reach a store.
 */
import { pino, type Logger } from 'pino';
import type { Config } from '../kernel/config.js';
import { systemClock, type Clock } from '../kernel/clock.js';
import { openDatabase, type Database } from '../storage/database.js';
import { migrateToLatest, migrationStatus, type MigrationReport } from '../storage/migrate.js';
import { allMigrations } from './migrations.js';
import { ChargingEngine, DEFAULT_CHARGING_POLICY } from '../workflows/charging.js';

export interface App {
  readonly config: Config;
  readonly database: Database;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * The online charging engine: one per process, shared by the Nchf and Diameter servers and the
   * balance API, because it owns the in-memory state of the accounts it serves.
   */
  readonly charging: ChargingEngine;
  close(): Promise<void>;
}

export interface OpenAppOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Run pending migrations while opening (the server does; `db status` does not). */
  readonly migrate?: boolean;
}

/** Log redaction: credentials never reach the logs, whatever is logged. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'secret',
  '*.secret',
  'tokenSecret',
  '*.tokenSecret',
];

export function createLogger(config: Pick<Config, 'logLevel'>, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level: config.logLevel,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { service: 'tollgate' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination as pino.DestinationStream | undefined,
  );
}

export async function openApp(config: Config, options: OpenAppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config);
  const database = await openDatabase(config.databaseUrl);
  try {
    if (options.migrate !== false) {
      const report = await migrateToLatest(database, allMigrations);
      if (report.applied.length > 0) logger.info({ applied: report.applied }, 'database migrated');
    }
  } catch (error) {
    await database.close();
    throw error;
  }
  const clock = options.clock ?? systemClock;
  const charging = new ChargingEngine({
    database,
    clock,
    policy: { ...DEFAULT_CHARGING_POLICY, validityMs: config.chargingValiditySeconds * 1000 },
  });
  return {
    config,
    database,
    clock,
    logger,
    charging,
    close: async () => {
      // Answers already computed are committed before the database goes.
      await charging.close();
      await database.close();
    },
  };
}

export function migrate(app: App): Promise<MigrationReport> {
  return migrateToLatest(app.database, allMigrations);
}

export function migrations(app: App) {
  return migrationStatus(app.database, allMigrations);
}
