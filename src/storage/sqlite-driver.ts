/**
 * A Kysely dialect for better-sqlite3, written for two things the stock driver does not do:
 * - write transactions start with BEGIN IMMEDIATE, so two processes on one database file queue on
 *   the write lock (busy_timeout) instead of failing midway with SQLITE_BUSY on lock upgrade;
 * - prepared statements are cached by SQL text, because re-preparing on every call costs more
 *   than running most of our small statements.
 * SQLite has one writer; one connection behind a mutex serialises this process's work on it.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { CompiledQuery } from 'kysely';
import {
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
} from 'kysely';
import { SingleConnectionDriver } from './single-connection-driver.js';

const STATEMENT_CACHE_SIZE = 500;

class CachedSqliteConnection implements DatabaseConnection {
  private readonly statements = new Map<string, BetterSqlite3.Statement>();
  constructor(private readonly sqlite: BetterSqlite3.Database) {}

  private prepare(sql: string): BetterSqlite3.Statement {
    let statement = this.statements.get(sql);
    if (statement) {
      // Refresh its place in the LRU order.
      this.statements.delete(sql);
      this.statements.set(sql, statement);
      return statement;
    }
    statement = this.sqlite.prepare(sql);
    this.statements.set(sql, statement);
    if (this.statements.size > STATEMENT_CACHE_SIZE) {
      const oldest = this.statements.keys().next().value as string;
      this.statements.delete(oldest);
    }
    return statement;
  }

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const statement = this.prepare(compiledQuery.sql);
    const parameters = compiledQuery.parameters as unknown[];
    if (statement.reader) {
      return Promise.resolve({ rows: statement.all(parameters) as R[] });
    }
    const { changes, lastInsertRowid } = statement.run(parameters);
    return Promise.resolve({
      numAffectedRows: BigInt(changes),
      insertId: BigInt(lastInsertRowid),
      rows: [],
    });
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not used on SQLite; page with keyset queries instead');
  }
}

/**
 * SQLite runs DDL inside transactions perfectly well; Kysely's adapter says otherwise only to be
 * safe. Saying yes makes the migrator run in one BEGIN IMMEDIATE transaction, so two processes
 * starting on a fresh database file (a server and a CLI command, say) queue on the write lock and
 * the second finds the migrations done, instead of both creating the same tables.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

export class TollgateSqliteDialect implements Dialect {
  constructor(private readonly sqlite: BetterSqlite3.Database) {}
  createDriver(): Driver {
    const sqlite = this.sqlite;
    return new SingleConnectionDriver({
      open: async () => new CachedSqliteConnection(sqlite),
      close: async () => {
        sqlite.close();
      },
      beginStatement: 'begin immediate',
    });
  }
  createQueryCompiler() {
    return new SqliteQueryCompiler();
  }
  createAdapter() {
    return new TransactionalDdlSqliteAdapter();
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  createIntrospector(db: Kysely<any>) {
    return new SqliteIntrospector(db);
  }
}
