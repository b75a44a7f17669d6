/**
 * The usage tables: sources, imports with their control counts and resume point, rejects (and
 * duplicates) with their raw records, rated usage, deduplication keys and rating counters.
 *
 * Rated usage is the highest-volume table of the system, so its indexes are chosen for the load:
 * its primary key is a number handed out in increasing blocks, and its one secondary index is
 * (tenant, start instant), which CDR files (written as calls end) fill almost in order. An index
 * keyed on a random value (a record id hash, a subscription id) would turn every insert into a
 * random B-tree write and cut the load rate by about eight on SQLite; deduplication therefore keeps
 * its keys in packed chunks per source and event day (usage_dedup_chunks), read into memory by the
 * importer, instead of a unique index. See docs/usage.md.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { placeholderStyle } from '../storage/bulk-insert.js';
import type { Executor } from '../storage/database.js';

export const usageMigrations: Record<string, Migration> = {
  '0040_usage': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('usage_sources')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('usage_sources_tenant_name')
        .on('usage_sources')
        .columns(['tenant_id', 'name'])
        .unique()
        .execute();

      await db.schema
        .createTable('usage_imports')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('file_name', 'text', (c) => c.notNull())
        .addColumn('checksum', 'text', (c) => c.notNull())
        .addColumn('size_bytes', 'bigint', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('forced', 'bigint', (c) => c.notNull())
        .addColumn('records_in', 'bigint', (c) => c.notNull())
        .addColumn('rated', 'bigint', (c) => c.notNull())
        .addColumn('rejected', 'bigint', (c) => c.notNull())
        .addColumn('duplicates', 'bigint', (c) => c.notNull())
        .addColumn('next_byte_offset', 'bigint', (c) => c.notNull())
        .addColumn('next_line', 'bigint', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .execute();
      await db.schema
        .createIndex('usage_imports_checksum')
        .on('usage_imports')
        .columns(['tenant_id', 'source', 'checksum'])
        .execute();
      await db.schema
        .createIndex('usage_imports_started')
        .on('usage_imports')
        .columns(['tenant_id', 'started_at'])
        .execute();

      // Control counts per import and event day (UTC): records in = rated + rejected + duplicates.
      await db.schema
        .createTable('usage_controls')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('import_id', 'text', (c) => c.notNull())
        .addColumn('event_day', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('records_in', 'bigint', (c) => c.notNull())
        .addColumn('rated', 'bigint', (c) => c.notNull())
        .addColumn('rejected', 'bigint', (c) => c.notNull())
        .addColumn('duplicates', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('usage_controls_pk', ['tenant_id', 'import_id', 'event_day'])
        .execute();
      await db.schema
        .createIndex('usage_controls_day')
        .on('usage_controls')
        .columns(['tenant_id', 'event_day'])
        .execute();

      await db.schema
        .createTable('usage_rejects')
        .addColumn('id', 'bigint', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('import_id', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('line', 'bigint', (c) => c.notNull())
        .addColumn('byte_offset', 'bigint', (c) => c.notNull())
        // 'reject' or 'duplicate': duplicates are kept too, so every record that came in is found.
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('field', 'text')
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('raw', 'text', (c) => c.notNull())
        .addColumn('event_day', 'text', (c) => c.notNull())
        // 'open', 'reprocessed' (rated on a later try), 'discarded' (closed by an operator).
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'bigint', (c) => c.notNull())
        .addColumn('resolved_usage_id', 'bigint')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('usage_rejects_status')
        .on('usage_rejects')
        .columns(['tenant_id', 'status', 'id'])
        .execute();

      await ratedUsageTable(db, 'rated_usage', false).execute();
      await db.schema
        .createIndex('rated_usage_start')
        .on('rated_usage')
        .columns(['tenant_id', 'start_at'])
        .execute();

      // Deduplication keys: one packed, sorted list of 64-bit key hashes per batch, source and
      // event day (UTC), read back by the importer for the days a file touches.
      await db.schema
        .createTable('usage_dedup_chunks')
        .addColumn('id', 'bigint', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('event_day', 'text', (c) => c.notNull())
        .addColumn('import_id', 'text', (c) => c.notNull())
        .addColumn('key_count', 'bigint', (c) => c.notNull())
        .addColumn('keys', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('usage_dedup_chunks_day')
        .on('usage_dedup_chunks')
        .columns(['tenant_id', 'source', 'event_day'])
        .execute();

      // Allowance and tier counters of rating, per owner (subscription or account), counter and
      // period index. `state` is the counter as the rating core's ledger keeps it (JSON: units
      // granted, used, rolled over in and carried out), `used` mirrors its used units for reports.
      await db.schema
        .createTable('rating_counters')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('owner_id', 'text', (c) => c.notNull())
        .addColumn('counter', 'text', (c) => c.notNull())
        .addColumn('period_index', 'bigint', (c) => c.notNull())
        .addColumn('used', 'bigint', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('rating_counters_pk', ['tenant_id', 'owner_id', 'counter', 'period_index'])
        .execute();

      // Blocks of numeric ids for rated usage, rejects and dedup chunks: a batch takes a block in
      // its own transaction, so ids increase and never collide between processes.
      await db.schema
        .createTable('usage_id_blocks')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('next_id', 'bigint', (c) => c.notNull())
        .execute();
      await db
        .insertInto('usage_id_blocks')
        .values([
          { name: 'rated_usage', next_id: 1 },
          { name: 'usage_rejects', next_id: 1 },
          { name: 'usage_dedup_chunks', next_id: 1 },
        ])
        .execute();
    },
  },

  '0041_radius_sessions': {
    // The counters of the last stored report of each RADIUS accounting session, per source: a NAS
    // reports cumulative totals, and the next report's usage is the difference (see
    // docs/radius.md). `state` is JSON (cumulative session time and octets, Event-Timestamp, the
    // last usage slice); `version` grows by one per write, so a writer that read an older row
    // loses (compare-and-set) instead of overwriting it. `stopped` is 1 after a Stop or the NAS's
    // Accounting-On/Off.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('radius_sessions')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('session_key', 'text', (c) => c.notNull())
        .addColumn('nas', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('stopped', 'bigint', (c) => c.notNull())
        .addColumn('version', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('radius_sessions_pk', ['tenant_id', 'source', 'session_key'])
        .execute();
      await db.schema
        .createIndex('radius_sessions_nas')
        .on('radius_sessions')
        .columns(['tenant_id', 'source', 'nas'])
        .execute();
      await db.schema
        .createIndex('radius_sessions_updated')
        .on('radius_sessions')
        .columns(['tenant_id', 'updated_at'])
        .execute();
    },
  },

  '0042_rating_counter_generations': {
    // One number per tenant that every write of rating counters increases, in the writer's
    // transaction. A batch rater that wrote the counters last and finds the number unchanged at
    // its next batch knows the counters it holds in memory are still the stored ones, and skips
    // reading them again (see docs/usage.md, "Counters between batches").
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('rating_counter_generations')
        .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id'))
        .addColumn('generation', 'bigint', (c) => c.notNull())
        .execute();
    },
  },

  // Numbered after the charging migrations (0050, 0051): a migration sorting before one already
  // applied would not run on existing databases.
  '0052_usage_trace_words': {
    // The words of packed charge traces (usage/trace-words.ts): file imports store a rated
    // record's trace with its repeated names and ids (offer and tariff codes and versions, zones,
    // allowances, time zones) replaced by word numbers, which cuts a rated row by about a third.
    // Words are only ever added; ids come from usage_id_blocks ('usage_trace_words').
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('usage_trace_words')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('id', 'bigint', (c) => c.notNull())
        .addColumn('word', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('usage_trace_words_pk', ['tenant_id', 'id'])
        .execute();
      await db.insertInto('usage_id_blocks').values({ name: 'usage_trace_words', next_id: 1 }).execute();
    },
  },

  '0053_rated_usage_rowid': {
    // SQLite only: rated_usage rebuilt with the same columns, its id as the table's rowid
    // (`integer primary key`; declared `bigint` it was a second B-tree, an index beside the table)
    // and without the foreign key on tenant_id. An immediate foreign key makes SQLite keep a
    // statement journal for every multi-row INSERT inside a transaction (the statement could fail
    // half-way), a temporary file into which it copies each page the statement changes that the
    // transaction had changed before (storage/bulk-insert.ts BulkInsertOptions: 9 500 of 49 800
    // writes for 100 000 rows in 100-row statements). Rated rows are only ever written by the importer, re-rating
    // and online charging, with the tenant id of the tenant they run for. PostgreSQL keeps its
    // table as it is: it has no statement journal, and its bigint key is the table's key already.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      if (placeholderStyle(db as unknown as Executor) !== 'question') return;
      // The columns 0040 made, in the table's order.
      const { rows } = await sql<{ name: string }>`select name from pragma_table_info('rated_usage')`.execute(
        db,
      );
      const columns = rows.map((row) => row.name);
      await ratedUsageTable(db, 'rated_usage_rebuilt', true).execute();
      await db
        .insertInto('rated_usage_rebuilt')
        .columns(columns)
        .expression(db.selectFrom('rated_usage').select(columns))
        .execute();
      await db.schema.dropTable('rated_usage').execute();
      await db.schema.alterTable('rated_usage_rebuilt').renameTo('rated_usage').execute();
      await db.schema
        .createIndex('rated_usage_start')
        .on('rated_usage')
        .columns(['tenant_id', 'start_at'])
        .execute();
    },
  },
};

/**
 * The rated_usage table (migration 0040), or on SQLite its rebuild of 0053 (`sqliteRebuild`): the
 * id as the rowid (`integer primary key`) and no foreign key on tenant_id.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function ratedUsageTable(db: Kysely<any>, name: string, sqliteRebuild: boolean) {
  return (
    db.schema
      .createTable(name)
      .addColumn('id', sqliteRebuild ? 'integer' : 'bigint', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) =>
        sqliteRebuild ? c.notNull() : c.notNull().references('tenants.id'),
      )
      .addColumn('import_id', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('line', 'bigint', (c) => c.notNull())
      .addColumn('source_record_id', 'text')
      .addColumn('subscription_id', 'text', (c) => c.notNull())
      .addColumn('account_id', 'text', (c) => c.notNull())
      .addColumn('service', 'text', (c) => c.notNull())
      .addColumn('identity', 'text', (c) => c.notNull())
      .addColumn('start_at', 'text', (c) => c.notNull())
      .addColumn('duration_sec', 'bigint', (c) => c.notNull())
      .addColumn('volume_up_bytes', 'bigint', (c) => c.notNull())
      .addColumn('volume_down_bytes', 'bigint', (c) => c.notNull())
      .addColumn('event_count', 'bigint', (c) => c.notNull())
      .addColumn('called_number', 'text')
      // The record's other fields, when it has any (calling number, APN, rating group, cell,
      // roaming network, slice, QoS, event type and price, the reader's extras), as JSON: most
      // records have none, and every column costs on a load of millions of rows.
      .addColumn('detail', 'text')
      .addColumn('charged_units', 'bigint', (c) => c.notNull())
      .addColumn('allowance_units', 'bigint', (c) => c.notNull())
      .addColumn('amount_pico', 'bigint', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      // 'unbilled' until a bill run takes it; 'billed' after.
      .addColumn('status', 'text', (c) => c.notNull())
      // 'original', or 'rerate' for a delta written by a re-rating run.
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('corrects_id', 'bigint')
      // The charge trace (rating/explain.ts compactTrace): offer and tariff versions, prefix,
      // zone, band, allowance draws, tiers, increments, prices; expanded with the formula on read.
      .addColumn('trace', 'text', (c) => c.notNull())
      .addColumn('raw', 'text', (c) => c.notNull())
      .addColumn('rated_at', 'text', (c) => c.notNull())
  );
}
