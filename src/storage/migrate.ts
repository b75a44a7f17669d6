/**
 * Versioned migrations. Each domain owns its migrations (its migrations.ts); the composition root
 * lists them in order and hands them here. Names sort in the order they must run
 * (`0001_tenancy`, `0002_access`, ...). The same schema-builder code runs on SQLite and PostgreSQL:
 * integers are `bigint`, instants are fixed-width ISO-8601 `text`, JSON is `text`, booleans are
 * 0/1 `integer`, so every query means the same on both engines.
 */
import { Migrator, type Migration, type MigrationResultSet } from 'kysely';
import type { Database } from './database.js';

export type MigrationList = ReadonlyArray<readonly [name: string, migration: Migration]>;

export interface MigrationReport {
  readonly applied: string[];
  readonly alreadyApplied: number;
}

function migratorFor(database: Database, migrations: MigrationList): Migrator {
  const names = migrations.map(([name]) => name);
  const sorted = [...names].sort();
  if (names.some((name, i) => name !== sorted[i])) {
    throw new Error(`migrations must be listed in name order: ${names.join(', ')}`);
  }
  return new Migrator({
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    db: database.db as any,
    provider: { getMigrations: async () => Object.fromEntries(migrations) },
    migrationTableName: 'schema_migrations',
    migrationLockTableName: 'schema_migrations_lock',
  });
}

function unwrap(result: MigrationResultSet): string[] {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    const message = result.error instanceof Error ? result.error.message : String(result.error);
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${message}`, {
      cause: result.error,
    });
  }
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

export async function migrateToLatest(
  database: Database,
  migrations: MigrationList,
): Promise<MigrationReport> {
  const migrator = migratorFor(database, migrations);
  const applied = unwrap(await migrator.migrateToLatest());
  return { applied, alreadyApplied: migrations.length - applied.length };
}

export async function migrationStatus(
  database: Database,
  migrations: MigrationList,
): Promise<Array<{ name: string; executedAt: Date | undefined }>> {
  const migrator = migratorFor(database, migrations);
  const infos = await migrator.getMigrations();
  return infos.map((info) => ({ name: info.name, executedAt: info.executedAt }));
}
