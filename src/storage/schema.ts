/**
 * The database schema as one Kysely type. Each domain declares its own tables beside its store by
 * augmenting this interface (`declare module '../storage/schema.js'`), so a table's shape lives
 * with the only code allowed to touch it, and the query builder still type-checks every query.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface DatabaseSchema {}
