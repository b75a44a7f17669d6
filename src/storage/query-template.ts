/**
 * A statement built by the query builder once per placeholder style and then run with new values:
 * for statements a hot path compiles over and over with the same shape (the charging engine's
 * group commits write the same usage-control upserts every few milliseconds), where building and
 * compiling the query costs more than running it.
 *
 * The statement is built once with a distinct marker string for each named value; the compiled
 * parameters are then matched back to their names, so whatever order the builder writes them in,
 * each call puts its own values where the markers were. Values stay bound parameters.
 */
import type { CompiledQuery } from 'kysely';
import { placeholderStyle } from './bulk-insert.js';
import type { Executor } from './database.js';

const MARKER = '\u0000tollgate-query-template-value-';

export class QueryTemplate<K extends string> {
  private readonly compiled = new Map<string, { readonly query: CompiledQuery; readonly slots: K[] }>();

  constructor(
    private readonly names: readonly K[],
    /** Builds the statement; `values` hold markers here, never real values. */
    private readonly build: (
      db: Executor,
      values: Readonly<Record<K, string>>,
    ) => { compile(): CompiledQuery },
  ) {}

  /** The statement with `values` bound in place of the markers. */
  compile(db: Executor, values: Readonly<Record<K, unknown>>): CompiledQuery {
    const style = placeholderStyle(db);
    let template = this.compiled.get(style);
    if (template === undefined) {
      const markers = Object.fromEntries(this.names.map((name, i) => [name, `${MARKER}${i}`])) as Record<
        K,
        string
      >;
      const query = this.build(db, markers).compile();
      const slots = query.parameters.map((parameter) => {
        const index =
          typeof parameter === 'string' && parameter.startsWith(MARKER)
            ? Number(parameter.slice(MARKER.length))
            : -1;
        const name = this.names[index];
        if (name === undefined) {
          throw new Error(
            `a query template binds ${JSON.stringify(parameter)}, which is not one of its values`,
          );
        }
        return name;
      });
      template = { query, slots };
      this.compiled.set(style, template);
    }
    const parameters = template.slots.map((name) => values[name]);
    return { ...template.query, parameters };
  }
}
