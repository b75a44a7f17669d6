/**
 * The customers tables. Portable types only: `text` (ids, instants as fixed-width ISO text, JSON)
 * and `bigint` (bill cycle day, credit limits in minor units). Every table carries `tenant_id`
 * and every lookup the store makes has an index that starts with it.
 */
import type { Kysely, Migration } from 'kysely';

export const customersMigrations: Record<string, Migration> = {
  '0020_customers': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('customers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_reason', 'text')
        .addColumn('contact_medium', 'text', (c) => c.notNull())
        .addColumn('external_ref', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('customers_tenant').on('customers').columns(['tenant_id', 'id']).execute();
      await db.schema
        .createIndex('customers_tenant_name')
        .on('customers')
        .columns(['tenant_id', 'name'])
        .execute();
      await db.schema
        .createIndex('customers_tenant_external_ref')
        .on('customers')
        .columns(['tenant_id', 'external_ref'])
        .unique()
        .execute();

      await db.schema
        .createTable('billing_accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_reason', 'text')
        .addColumn('rating_type', 'text', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('language', 'text', (c) => c.notNull())
        .addColumn('bill_cycle_day', 'bigint', (c) => c.notNull())
        .addColumn('time_zone', 'text', (c) => c.notNull())
        .addColumn('invoice_delivery', 'text', (c) => c.notNull())
        .addColumn('tax_exemptions', 'text', (c) => c.notNull())
        .addColumn('credit_class', 'text')
        .addColumn('credit_limit_minor', 'bigint')
        .addColumn('credit_limit_currency', 'text')
        .addColumn('parent_id', 'text', (c) => c.references('billing_accounts.id'))
        .addColumn('payer_id', 'text', (c) => c.references('billing_accounts.id'))
        .addColumn('cost_centre', 'text')
        .addColumn('external_ref', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('billing_accounts_tenant')
        .on('billing_accounts')
        .columns(['tenant_id', 'id'])
        .execute();
      await db.schema
        .createIndex('billing_accounts_customer')
        .on('billing_accounts')
        .columns(['tenant_id', 'customer_id'])
        .execute();
      await db.schema
        .createIndex('billing_accounts_parent')
        .on('billing_accounts')
        .columns(['tenant_id', 'parent_id'])
        .execute();
      await db.schema
        .createIndex('billing_accounts_payer')
        .on('billing_accounts')
        .columns(['tenant_id', 'payer_id'])
        .execute();
      await db.schema
        .createIndex('billing_accounts_tenant_name')
        .on('billing_accounts')
        .columns(['tenant_id', 'name'])
        .execute();
      await db.schema
        .createIndex('billing_accounts_tenant_external_ref')
        .on('billing_accounts')
        .columns(['tenant_id', 'external_ref'])
        .unique()
        .execute();

      await db.schema
        .createTable('subscriptions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('account_id', 'text', (c) => c.notNull().references('billing_accounts.id'))
        .addColumn('name', 'text')
        .addColumn('description', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_reason', 'text')
        .addColumn('status_changed_at', 'text', (c) => c.notNull())
        .addColumn('start_date', 'text', (c) => c.notNull())
        .addColumn('termination_date', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('subscriptions_tenant')
        .on('subscriptions')
        .columns(['tenant_id', 'id'])
        .execute();
      await db.schema
        .createIndex('subscriptions_account')
        .on('subscriptions')
        .columns(['tenant_id', 'account_id', 'status'])
        .execute();

      await db.schema
        .createTable('subscription_status_history')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('subscription_id', 'text', (c) => c.notNull().references('subscriptions.id'))
        .addColumn('from_status', 'text')
        .addColumn('to_status', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('effective_at', 'text', (c) => c.notNull())
        .addColumn('recorded_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('subscription_status_history_subscription')
        .on('subscription_status_history')
        .columns(['tenant_id', 'subscription_id', 'effective_at'])
        .execute();

      await db.schema
        .createTable('subscription_addons')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('subscription_id', 'text', (c) => c.notNull().references('subscriptions.id'))
        .addColumn('offer_id', 'text', (c) => c.notNull())
        .addColumn('offer_code', 'text')
        .addColumn('valid_from', 'text', (c) => c.notNull())
        .addColumn('valid_to', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('subscription_addons_subscription')
        .on('subscription_addons')
        .columns(['tenant_id', 'subscription_id', 'valid_from'])
        .execute();
      await db.schema
        .createIndex('subscription_addons_offer')
        .on('subscription_addons')
        .columns(['tenant_id', 'offer_id'])
        .execute();

      await db.schema
        .createTable('subscription_offer_changes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('subscription_id', 'text', (c) => c.notNull().references('subscriptions.id'))
        .addColumn('from_offer_id', 'text')
        .addColumn('to_offer_id', 'text', (c) => c.notNull())
        .addColumn('to_offer_code', 'text')
        .addColumn('change_type', 'text', (c) => c.notNull())
        .addColumn('effective_at', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('recorded_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('subscription_offer_changes_subscription')
        .on('subscription_offer_changes')
        .columns(['tenant_id', 'subscription_id', 'effective_at'])
        .execute();
      await db.schema
        .createIndex('subscription_offer_changes_offer')
        .on('subscription_offer_changes')
        .columns(['tenant_id', 'to_offer_id'])
        .execute();

      await db.schema
        .createTable('service_identities')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('subscription_id', 'text', (c) => c.notNull().references('subscriptions.id'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('valid_from', 'text', (c) => c.notNull())
        .addColumn('valid_to', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('service_identities_lookup')
        .on('service_identities')
        .columns(['tenant_id', 'type', 'value', 'valid_from'])
        .execute();
      await db.schema
        .createIndex('service_identities_subscription')
        .on('service_identities')
        .columns(['tenant_id', 'subscription_id'])
        .execute();

      // One row per identity ever assigned: the row a transaction locks (FOR UPDATE on
      // PostgreSQL) before it checks and changes that identity's time ranges, so two concurrent
      // assignments of one number queue instead of both seeing it free.
      await db.schema
        .createTable('identity_locks')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('identity_locks_pk', ['tenant_id', 'type', 'value'])
        .execute();
    },
  },
};
