/**
 * A tenant is an operator, or an MVNO or reseller brand hosted on the platform. Every record in
 * the system belongs to exactly one tenant and no query crosses tenants.
 */
export type TenantStatus = 'active' | 'suspended';

export interface Tenant {
  readonly id: string;
  /** Short unique handle used on the command line (`--tenant acme`). */
  readonly slug: string;
  readonly name: string;
  readonly status: TenantStatus;
  /** Defaults that later domains read: currency, time zone, locale. */
  readonly settings: TenantSettings;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface TenantSettings {
  readonly defaultCurrency: string;
  readonly timeZone: string;
  readonly locale: string;
}

export const SLUG_PATTERN = /^[a-z][a-z0-9-]{1,39}$/;
