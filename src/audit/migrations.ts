import type { Kysely, Migration } from 'kysely';

export const auditMigrations: Record<string, Migration> = {
  '0003_audit': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      // One hash chain per tenant: (tenant_id, seq) is the record's place in it. The id is derived
      // from the two (`tenant:seq`) and kept unique so a record can be fetched by id alone.
      await db.schema
        .createTable('audit_records')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('occurred_at', 'text', (c) => c.notNull())
        .addColumn('actor_type', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('entity_type', 'text', (c) => c.notNull())
        .addColumn('entity_id', 'text', (c) => c.notNull())
        .addColumn('before', 'text')
        .addColumn('after', 'text')
        .addColumn('request_id', 'text')
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('audit_records_pk', ['tenant_id', 'seq'])
        .execute();
      await db.schema
        .createIndex('audit_records_entity')
        .on('audit_records')
        .columns(['tenant_id', 'entity_type', 'entity_id'])
        .execute();
      await db.schema
        .createIndex('audit_records_occurred')
        .on('audit_records')
        .columns(['tenant_id', 'occurred_at'])
        .execute();
      await db.schema
        .createIndex('audit_records_action')
        .on('audit_records')
        .columns(['tenant_id', 'action'])
        .execute();
      // The head is the seq and hash of each tenant's newest record. It is written in the same
      // transaction as the record, and it is what lets verification see a deleted tail; on
      // PostgreSQL its row is also the lock that serialises appends for a tenant.
      await db.schema
        .createTable('audit_heads')
        .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id'))
        .addColumn('last_seq', 'bigint', (c) => c.notNull())
        .addColumn('last_hash', 'text', (c) => c.notNull())
        .execute();
    },
  },
};
