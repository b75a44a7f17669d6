/**
 * Test databases on both engines, so one test body checks SQLite and PostgreSQL alike.
 *
 * PostgreSQL: when TEST_DATABASE_URL is set (CI sets it to the local server), each suite creates
 * its own database `tollgate_t_<random>` on that server and drops it afterwards. Otherwise an
 * embedded PostgreSQL (PGlite, in memory) stands in, so the suite passes on any machine.
 * SQLite: a fresh file in a temporary folder (WAL mode as in production), removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe } from 'node:test';
import pg from 'pg';
import { openDatabase, type Database, type DialectName } from '../storage/database.js';
import { migrateToLatest } from '../storage/migrate.js';
import { allMigrations } from '../app/migrations.js';

export const DIALECTS: readonly DialectName[] = ['sqlite', 'postgres'];

export interface TestDatabase extends Database {
  /** Drops the database and removes its files. */
  dispose(): Promise<void>;
}

export async function openTestDatabase(
  dialect: DialectName,
  options: { migrate?: boolean } = {},
): Promise<TestDatabase> {
  const database = dialect === 'sqlite' ? await openSqliteTestDatabase() : await openPostgresTestDatabase();
  if (options.migrate !== false) await migrateToLatest(database, allMigrations);
  return database;
}

async function openSqliteTestDatabase(): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-test-'));
  const database = await openDatabase(`sqlite:${join(dir, 'test.db')}`);
  return {
    ...database,
    dispose: async () => {
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The URL of a PostgreSQL test database to create and drop, or undefined to use PGlite. */
export function postgresServerUrl(): string | undefined {
  const url = process.env.TEST_DATABASE_URL;
  return url && url.trim() !== '' ? url : undefined;
}

async function openPostgresTestDatabase(): Promise<TestDatabase> {
  const serverUrl = postgresServerUrl();
  if (!serverUrl) {
    const database = await openDatabase('pglite:memory');
    return { ...database, dispose: () => database.close() };
  }
  const name = `tollgate_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    // The name is generated above from hex digits only; identifiers cannot be bound parameters.
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase(url.toString());
  return {
    ...database,
    dispose: async () => {
      await database.close();
      const dropper = new pg.Client({ connectionString: serverUrl });
      await dropper.connect();
      try {
        // pool.end() resolves before its connections have gone; dropping with FORCE while they
        // close would kill them and surface as uncaught errors, so wait until none is left.
        for (let i = 0; i < 100; i++) {
          const { rows } = await dropper.query<{ n: string }>(
            'select count(*) as n from pg_stat_activity where datname = $1',
            [name],
          );
          if (Number(rows[0]?.n ?? 0) === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await dropper.query(`drop database if exists ${name} with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

/**
 * Runs the same suite on each engine: `describeEachDialect('audit store', (db) => { it(...) })`.
 * `db()` returns the suite's migrated database, fresh for the suite, shared by its tests.
 */
export function describeEachDialect(
  title: string,
  body: (db: () => TestDatabase, dialect: DialectName) => void,
): void {
  for (const dialect of DIALECTS) {
    describe(`${title} [${dialect}]`, () => {
      let database: TestDatabase | undefined;
      before(async () => {
        database = await openTestDatabase(dialect);
      });
      after(async () => {
        await database?.dispose();
      });
      body(() => {
        if (!database) throw new Error('test database not open yet');
        return database;
      }, dialect);
    });
  }
}
