/**
 * A Kysely driver for PGlite, the embedded PostgreSQL (WebAssembly) used when no PostgreSQL server
 * is configured: the tests' fallback and `DATABASE_URL=pglite:...`. PGlite has one session, so
 * like SQLite it sits behind a mutex; a transaction holds the mutex from BEGIN to COMMIT.
 */
import type { PGlite } from '@electric-sql/pglite';
import type { CompiledQuery } from 'kysely';
import {
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
} from 'kysely';
import { SingleConnectionDriver } from './single-connection-driver.js';

class PgliteConnection implements DatabaseConnection {
  constructor(private readonly pglite: PGlite) {}
  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.pglite.query<R>(compiledQuery.sql, compiledQuery.parameters as unknown[], {
      rowMode: 'object',
    });
    const affected = result.affectedRows;
    return {
      rows: result.rows,
      ...(affected !== undefined && result.fields.length === 0 ? { numAffectedRows: BigInt(affected) } : {}),
    };
  }
  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported on PGlite');
  }
}

export class PgliteDialect implements Dialect {
  constructor(private readonly pglite: PGlite) {}
  createDriver(): Driver {
    const pglite = this.pglite;
    return new SingleConnectionDriver({
      open: async () => {
        await pglite.waitReady;
        return new PgliteConnection(pglite);
      },
      close: () => pglite.close(),
      beginStatement: 'begin',
    });
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
  createAdapter() {
    return new PostgresAdapter();
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  createIntrospector(db: Kysely<any>) {
    return new PostgresIntrospector(db);
  }
}
