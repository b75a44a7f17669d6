/** Use cases on tenants: create (operator CLI), read and change settings (tenant admins). */
import { fail } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import { TenancyErrors, SLUG_PATTERN, type Tenant, type TenantSettings } from '../tenancy/index.js';
import {
  findTenantById,
  findTenantBySlug,
  insertTenant,
  listTenants as listTenantRows,
  updateTenant,
} from '../tenancy/store.js';
import { isCurrency } from '../kernel/currencies.js';
import { CommonErrors } from '../kernel/errors.js';
import {
  readExecutor,
  recordChange,
  runChange,
  type Actor,
  type Caller,
  type WorkflowDeps,
} from './context.js';

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function checkSettings(settings: Partial<TenantSettings>, prefix: string): void {
  if (settings.defaultCurrency !== undefined && !isCurrency(settings.defaultCurrency)) {
    throw fail(CommonErrors.invalid_input, `${settings.defaultCurrency} is not an ISO 4217 currency code`, {
      field: `${prefix}defaultCurrency`,
    });
  }
  if (settings.timeZone !== undefined && !isTimeZone(settings.timeZone)) {
    throw fail(TenancyErrors.invalid_time_zone, `${settings.timeZone} is not an IANA time zone`, {
      field: `${prefix}timeZone`,
    });
  }
}

export interface CreateTenantInput {
  readonly slug: string;
  readonly name: string;
  readonly settings?: Partial<TenantSettings>;
}

export async function createTenant(
  deps: WorkflowDeps,
  actor: Actor,
  input: CreateTenantInput,
): Promise<Tenant> {
  if (!SLUG_PATTERN.test(input.slug)) {
    throw fail(
      TenancyErrors.invalid_slug,
      `tenant slug "${input.slug}" must be 2-40 lower-case letters, digits or dashes, starting with a letter`,
      {
        field: 'slug',
      },
    );
  }
  checkSettings(input.settings ?? {}, 'settings.');
  const id = newId('ten', deps.clock);
  const now = deps.clock.now();
  const tenant: Tenant = {
    id,
    slug: input.slug,
    name: input.name,
    status: 'active',
    settings: {
      defaultCurrency: input.settings?.defaultCurrency ?? 'EUR',
      timeZone: input.settings?.timeZone ?? 'UTC',
      locale: input.settings?.locale ?? 'en',
    },
    createdAt: now,
    updatedAt: now,
  };
  return runChange(deps, { tenantId: id, actor }, async (ctx) => {
    if (await findTenantBySlug(ctx.tx, input.slug)) {
      throw fail(TenancyErrors.slug_taken, `a tenant with slug "${input.slug}" already exists`, {
        field: 'slug',
      });
    }
    await insertTenant(ctx.tx, tenant);
    await recordChange(ctx, {
      action: 'tenant.created',
      entityType: 'tenant',
      entityId: id,
      after: tenant,
      event: { type: 'tenant.created', payload: tenant },
    });
    return tenant;
  });
}

export async function getTenant(deps: WorkflowDeps, tenantId: string): Promise<Tenant> {
  const tenant = await findTenantById(readExecutor(deps), tenantId);
  if (!tenant)
    throw fail(TenancyErrors.tenant_not_found, `tenant ${tenantId} does not exist`, { record: tenantId });
  return tenant;
}

export async function findTenant(deps: WorkflowDeps, idOrSlug: string): Promise<Tenant | undefined> {
  const db = readExecutor(deps);
  return (await findTenantById(db, idOrSlug)) ?? (await findTenantBySlug(db, idOrSlug));
}

export function listTenants(deps: WorkflowDeps): Promise<Tenant[]> {
  return listTenantRows(readExecutor(deps));
}

export async function updateTenantProfile(
  deps: WorkflowDeps,
  caller: Caller,
  changes: { name?: string; settings?: Partial<TenantSettings> },
): Promise<Tenant> {
  checkSettings(changes.settings ?? {}, 'settings.');
  return runChange(deps, caller, async (ctx) => {
    const before = await findTenantById(ctx.tx, caller.tenantId);
    if (!before) throw fail(TenancyErrors.tenant_not_found, `tenant ${caller.tenantId} does not exist`);
    const after: Tenant = {
      ...before,
      name: changes.name ?? before.name,
      settings: { ...before.settings, ...changes.settings },
      updatedAt: ctx.clock.now(),
    };
    await updateTenant(ctx.tx, before.id, {
      name: after.name,
      settings: after.settings,
      updatedAt: after.updatedAt,
    });
    await recordChange(ctx, {
      action: 'tenant.updated',
      entityType: 'tenant',
      entityId: before.id,
      before,
      after,
      event: { type: 'tenant.updated', payload: after },
    });
    return after;
  });
}
