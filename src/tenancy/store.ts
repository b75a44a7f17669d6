/** The tenants table: the only code that reads or writes it. */
import type { Executor } from '../storage/database.js';
import { toJson, fromJson } from '../storage/values.js';
import type { Tenant, TenantSettings, TenantStatus } from './model.js';

export interface TenantsTable {
  id: string;
  slug: string;
  name: string;
  status: string;
  settings: string;
  created_at: string;
  updated_at: string;
}

declare module '../storage/schema.js' {
  interface DatabaseSchema {
    tenants: TenantsTable;
  }
}

function toTenant(row: TenantsTable): Tenant {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    status: row.status as TenantStatus,
    settings: toJson<TenantSettings>(row.settings, 'tenants.settings'),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function insertTenant(db: Executor, tenant: Tenant): Promise<void> {
  await db
    .insertInto('tenants')
    .values({
      id: tenant.id,
      slug: tenant.slug,
      name: tenant.name,
      status: tenant.status,
      settings: fromJson(tenant.settings),
      created_at: tenant.createdAt,
      updated_at: tenant.updatedAt,
    })
    .execute();
}

export async function findTenantById(db: Executor, id: string): Promise<Tenant | undefined> {
  const row = await db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toTenant(row) : undefined;
}

export async function findTenantBySlug(db: Executor, slug: string): Promise<Tenant | undefined> {
  const row = await db.selectFrom('tenants').selectAll().where('slug', '=', slug).executeTakeFirst();
  return row ? toTenant(row) : undefined;
}

export async function listTenants(db: Executor): Promise<Tenant[]> {
  const rows = await db.selectFrom('tenants').selectAll().orderBy('id').execute();
  return rows.map(toTenant);
}

export async function updateTenant(
  db: Executor,
  id: string,
  changes: { name?: string; status?: TenantStatus; settings?: TenantSettings; updatedAt: string },
): Promise<void> {
  await db
    .updateTable('tenants')
    .set({
      ...(changes.name !== undefined ? { name: changes.name } : {}),
      ...(changes.status !== undefined ? { status: changes.status } : {}),
      ...(changes.settings !== undefined ? { settings: fromJson(changes.settings) } : {}),
      updated_at: changes.updatedAt,
    })
    .where('id', '=', id)
    .execute();
}
