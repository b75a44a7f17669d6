/**
 * Multi-row INSERTs (and upserts) compiled once and run many times: the write path of bulk loads
 * (rated usage, rejects, counters) and of the charging engine's group commits.
 *
 * Kysely compiles one multi-row INSERT per row count, once; each call runs that compiled statement
 * with its own bound parameters. Building and compiling a query of a hundred rows on every call
 * would cost more than the insert itself, and the SQL text is the same each time.
 */
import { sql, type CompiledQuery } from 'kysely';
import type { Executor } from './database.js';

/**
 * The most bound parameters in one statement. The hard limits are SQLite's 32 766 and
 * PostgreSQL's 65 535, but statements that large are slower per row on SQLite (measured: 1 100
 * rows of 24 columns a statement load at about half the rate of 100 rows a statement; the long
 * statement's parameter array and its VDBE program no longer fit the caches), so statements stay
 * near a hundred rows. A 10 000-row batch still takes only about a hundred statements.
 */
const MAX_PARAMETERS = 2_500;

export interface BulkInsertOptions {
  /**
   * Every call of this inserter runs in a transaction (or savepoint) that is rolled back whole when
   * any of its statements fails, never one that goes on and commits. Then SQLite runs the
   * statements as INSERT OR FAIL: a statement that fails keeps the rows before the failing one
   * until that rollback removes them, and SQLite needs no statement journal for it. With the
   * default (ABORT), each multi-row statement inside a transaction first copies every page it
   * changes that the transaction had already changed into a statement journal, a temporary file,
   * so that the statement alone can be undone (measured: 100 000 rows in 100-row statements, 9 500
   * of 49 800 writes went to the journal). An immediate foreign key on the table, or an upsert,
   * can fail half-way whatever the conflict clause, so SQLite keeps the journal for those anyway.
   * PostgreSQL has no such journal; its statements are unchanged.
   */
  readonly rolledBackWhole?: boolean;
}

/**
 * Inserts rows given as arrays of values in `columns` order, in as few statements as the
 * parameter limit allows. One compiled statement per distinct row count is kept.
 */
export class BulkInserter {
  private readonly compiled = new Map<number, CompiledQuery>();
  readonly rowsPerStatement: number;

  constructor(
    private readonly table: string,
    readonly columns: readonly string[],
    /** For upserts: the conflict target and the columns an existing row takes from the new one. */
    private readonly upsert?: { readonly key: readonly string[]; readonly update: readonly string[] },
    /**
     * Columns every row of this inserter gets the same fixed value in (a constant of the code,
     * never input), written into the statement as literals: binding a parameter costs about as
     * much as storing a short value, so a 10 000-row batch saves 10 000 bindings per constant.
     */
    private readonly constants: Readonly<Record<string, string | null>> = {},
    private readonly options: BulkInsertOptions = {},
  ) {
    this.rowsPerStatement = Math.max(1, Math.floor(MAX_PARAMETERS / columns.length));
  }

  private statementFor(db: Executor, rows: number): CompiledQuery {
    // SQLite and PostgreSQL write placeholders differently (? and $1): one cache per style.
    const key = rows * 2 + (placeholderStyle(db) === 'dollar' ? 1 : 0);
    let query = this.compiled.get(key);
    if (query === undefined) {
      const placeholder: Record<string, unknown> = Object.fromEntries(
        this.columns.map((column) => [column, null]),
      );
      for (const [column, value] of Object.entries(this.constants))
        placeholder[column] = value === null ? sql`null` : sql.lit(value);
      const values = Array.from({ length: rows }, () => placeholder);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      let builder = (db as any).insertInto(this.table).values(values);
      if (this.options.rolledBackWhole === true && placeholderStyle(db) === 'question')
        builder = builder.orFail();
      const upsert = this.upsert;
      if (upsert !== undefined) {
        /* eslint-disable @typescript-eslint/no-explicit-any -- the table is chosen at run time */
        builder = builder.onConflict((oc: any) =>
          oc
            .columns(upsert.key)
            .doUpdateSet((eb: any) =>
              Object.fromEntries(upsert.update.map((column) => [column, eb.ref(`excluded.${column}`)])),
            ),
        );
        /* eslint-enable @typescript-eslint/no-explicit-any */
      }
      query = builder.compile() as CompiledQuery;
      if (query.parameters.length !== rows * this.columns.length) {
        throw new Error(
          `bulk insert into ${this.table}: the compiled statement binds ${query.parameters.length} values`,
        );
      }
      this.compiled.set(key, query);
    }
    return query;
  }

  /**
   * The statements `insert` would run, compiled but not run: for a writer that runs them
   * elsewhere (storage/sqlite-writer.ts). `values` as for `insert`.
   */
  statements(
    db: Executor,
    values: readonly unknown[],
  ): Array<{ sql: string; parameters: readonly unknown[] }> {
    const width = this.columns.length;
    const rowCount = values.length / width;
    if (!Number.isInteger(rowCount)) throw new Error(`bulk insert into ${this.table}: ragged rows`);
    const out: Array<{ sql: string; parameters: readonly unknown[] }> = [];
    for (let first = 0; first < rowCount; first += this.rowsPerStatement) {
      const rows = Math.min(this.rowsPerStatement, rowCount - first);
      const parameters =
        first === 0 && rows === rowCount ? values : values.slice(first * width, (first + rows) * width);
      out.push({ sql: this.statementFor(db, rows).sql, parameters });
    }
    return out;
  }

  /**
   * `values` holds rows × columns values, row after row; only its first `length` values are
   * inserted when given (a caller may reuse one long array for batch after batch).
   */
  async insert(db: Executor, values: readonly unknown[], length = values.length): Promise<void> {
    const width = this.columns.length;
    const rowCount = length / width;
    if (!Number.isInteger(rowCount) || length > values.length)
      throw new Error(`bulk insert into ${this.table}: ragged rows`);
    for (let first = 0; first < rowCount; first += this.rowsPerStatement) {
      const rows = Math.min(this.rowsPerStatement, rowCount - first);
      const statement = this.statementFor(db, rows);
      if (first === 0 && rows === rowCount && length === values.length) {
        await db.executeQuery({ ...statement, parameters: values });
        continue;
      }
      // The parameters of one statement, copied into an array kept for its size: a 10 000-row
      // batch would otherwise allocate a hundred arrays of 2 500 values. The array is taken out
      // while its statement runs, so a concurrent call never fills the one in use.
      const size = rows * width;
      const buffer = this.buffers.get(size) ?? new Array<unknown>(size).fill(null);
      this.buffers.delete(size);
      const offset = first * width;
      for (let i = 0; i < size; i++) buffer[i] = values[offset + i];
      await db.executeQuery({ ...statement, parameters: buffer });
      buffer.fill(null);
      this.buffers.set(size, buffer);
    }
  }

  /** Parameter arrays by size, free for the next statement of that size. */
  private readonly buffers = new Map<number, unknown[]>();
}

const styles = new WeakMap<object, 'question' | 'dollar'>();

export function placeholderStyle(db: Executor): 'question' | 'dollar' {
  let style = styles.get(db);
  if (style === undefined) {
    const probe = db.selectNoFrom(sql<number>`${1}`.as('one')).compile().sql;
    style = probe.includes('$1') ? 'dollar' : 'question';
    styles.set(db, style);
  }
  return style;
}
