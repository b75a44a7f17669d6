/**
 * Opening the database. One URL chooses the engine:
 * - `sqlite:PATH` (default `sqlite:./data/tollgate.db`) or `sqlite::memory:` — embedded, WAL mode;
 * - `postgres://...` / `postgresql://...` — a PostgreSQL server through node-postgres;
 * - `pglite:memory` or `pglite:DIR` — embedded PostgreSQL (PGlite), for tests and demos.
 *
 * Both engines return 64-bit integers exactly: better-sqlite3 in safe-integer mode gives BigInt
 * for every INTEGER, and PostgreSQL's int8 is parsed to BigInt; numeric stays a string. Stores
 * convert at their edge with the helpers in values.ts and never guess.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import { TollgateSqliteDialect } from './sqlite-driver.js';
import { PgliteDialect } from './pglite-driver.js';
import type { DatabaseSchema } from './schema.js';

export type DialectName = 'sqlite' | 'postgres';

export type Db = Kysely<DatabaseSchema>;
export type Tx = Transaction<DatabaseSchema>;
/** Either the database or an open transaction: what store functions take. */
export type Executor = Db | Tx;

export interface Database {
  readonly db: Db;
  readonly dialect: DialectName;
  /** What the URL named, with any password removed: safe to log. */
  readonly description: string;
  /** The database file of a file-backed SQLite database (absent for PostgreSQL and :memory:). */
  readonly sqliteFile?: string;
  close(): Promise<void>;
}

const PG_INT8_OID = 20;
const PG_NUMERIC_OID = 1700;

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
}

export async function openDatabase(url: string): Promise<Database> {
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length));
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgres(url);
  if (url.startsWith('pglite:')) return openPglite(url.slice('pglite:'.length));
  throw new Error(
    `unsupported database URL "${redactUrl(url)}": use sqlite:PATH, sqlite::memory:, postgres://... or pglite:memory`,
  );
}

function openSqlite(path: string): Database {
  const inMemory = path === ':memory:' || path === '';
  const file = inMemory ? ':memory:' : resolve(path);
  if (!inMemory) mkdirSync(dirname(file), { recursive: true });
  const sqlite = new BetterSqlite3(file);
  sqlite.defaultSafeIntegers(true);
  if (!inMemory) sqlite.pragma('journal_mode = WAL');
  // FULL: a commit is on disk (the WAL is fsynced) before it returns, so a power cut or an OS crash
  // cannot lose a committed charge, payment or grant. NORMAL would only survive a process crash.
  // Bulk loads commit every 10 000 records and online charging once per event-loop turn, so the
  // fsyncs are few either way.
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 10000');
  const db = new Kysely<DatabaseSchema>({ dialect: new TollgateSqliteDialect(sqlite) });
  return {
    db,
    dialect: 'sqlite',
    description: `sqlite:${file}`,
    ...(inMemory ? {} : { sqliteFile: file }),
    close: () => db.destroy(),
  };
}

function openPostgres(url: string): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
        if (oid === PG_INT8_OID) return (value: string) => BigInt(value);
        if (oid === PG_NUMERIC_OID) return (value: string) => value;
        return pg.types.getTypeParser(oid, format as 'text');
      }) as typeof pg.types.getTypeParser,
    },
  });
  const db = new Kysely<DatabaseSchema>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', description: redactUrl(url), close: () => db.destroy() };
}

async function openPglite(location: string): Promise<Database> {
  const { PGlite, types } = await import('@electric-sql/pglite');
  const dataDir = location === 'memory' || location === '' ? undefined : resolve(location);
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const pglite = new PGlite(dataDir, {
    parsers: {
      [types.INT8]: (value: string) => BigInt(value),
      [types.NUMERIC]: (value: string) => value,
    },
  });
  await pglite.waitReady;
  const db = new Kysely<DatabaseSchema>({ dialect: new PgliteDialect(pglite) });
  return { db, dialect: 'postgres', description: `pglite:${dataDir ?? 'memory'}`, close: () => db.destroy() };
}

/**
 * The unit of work: runs `work` in one transaction, committed when it returns and rolled back
 * when it throws. Every use case that changes more than one row goes through here.
 */
export function inTransaction<T>(database: Database | Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  const db = 'db' in database ? database.db : database;
  return db.transaction().execute(work);
}

/** A cheap round trip, for /readyz. */
export async function ping(database: Database): Promise<void> {
  await sql`select 1`.execute(database.db);
}
