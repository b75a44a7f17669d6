import type { Kysely, Migration } from 'kysely';

/**
 * The catalog's tables. Codes are unique per tenant; versions and prices keep their definitions as
 * JSON text (a tariff version built from a 200k-row rate deck is one document, not 200k rows).
 * Instants are fixed-width ISO-8601 text, so `effective_from <= ? and (effective_to > ? or null)`
 * finds the version in force with the same SQL on both engines.
 */
export const catalogMigrations: Record<string, Migration> = {
  '0010_catalog': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      const entity = (name: string) =>
        db.schema
          .createTable(name)
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
          .addColumn('code', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('description', 'text')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addUniqueConstraint(`${name}_tenant_code`, ['tenant_id', 'code']);

      await entity('products')
        .addColumn('service', 'text', (c) => c.notNull())
        .execute();
      await entity('offers')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('currencies', 'text', (c) => c.notNull())
        .addColumn('products', 'text', (c) => c.notNull())
        .addColumn('components', 'text', (c) => c.notNull())
        .execute();
      await entity('tariffs').execute();
      await entity('categories').addColumn('parent_code', 'text').execute();
      await entity('catalogs').execute();

      const versions = (name: string, owner: string, ownerTable: string) =>
        db.schema
          .createTable(name)
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
          .addColumn(owner, 'text', (c) => c.notNull().references(`${ownerTable}.id`))
          .addColumn('number', 'bigint', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('effective_from', 'text', (c) => c.notNull())
          .addColumn('effective_to', 'text')
          .addColumn('price_change_policy', 'text', (c) => c.notNull())
          .addColumn('definition', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('published_at', 'text')
          .addUniqueConstraint(`${name}_number`, ['tenant_id', owner, 'number'])
          .execute();
      await versions('offer_versions', 'offer_id', 'offers');
      await versions('tariff_versions', 'tariff_id', 'tariffs');
      for (const [name, owner] of [
        ['offer_versions', 'offer_id'],
        ['tariff_versions', 'tariff_id'],
      ] as const) {
        await db.schema
          .createIndex(`${name}_in_force`)
          .on(name)
          .columns(['tenant_id', owner, 'effective_from'])
          .execute();
      }

      // The prices of offer versions, one row each, plus standalone prices created through TMF620
      // (productOfferingPrice) before an offering uses them: the index the TMF face reads by id.
      await db.schema
        .createTable('offer_prices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('offer_id', 'text', (c) => c.references('offers.id'))
        .addColumn('offer_version_id', 'text', (c) => c.references('offer_versions.id'))
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('valid_from', 'text')
        .addColumn('valid_to', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('offer_prices_version')
        .on('offer_prices')
        .columns(['tenant_id', 'offer_version_id'])
        .execute();

      // Membership: the categories of a catalog and the offers of a category, by code, in order.
      await db.schema
        .createTable('catalog_items')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('container_id', 'text', (c) => c.notNull())
        .addColumn('item_kind', 'text', (c) => c.notNull())
        .addColumn('item_code', 'text', (c) => c.notNull())
        .addColumn('position', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('catalog_items_pk', ['tenant_id', 'container_id', 'item_kind', 'item_code'])
        .execute();
    },
  },
  '0055_tariff_corrections': {
    // A correction replaces a published version for its whole range (correctTariffVersion): the
    // new version names the one it corrects and why; the corrected one becomes 'superseded'.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      await db.schema.alterTable('tariff_versions').addColumn('corrects_version_id', 'text').execute();
      await db.schema.alterTable('tariff_versions').addColumn('correction_reason', 'text').execute();
    },
  },
};
