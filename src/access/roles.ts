/**
 * Roles. Each API route declares which roles may call it; `admin` may call every route of its
 * tenant. `subscriber` is scoped to one billing account: routes that allow it must also check that
 * the resource belongs to the principal's account.
 */
export const ROLES = [
  'admin',
  'catalog-manager',
  'billing-operator',
  'support-agent',
  'finance',
  'partner',
  'subscriber',
  'read-only',
  // A network function of the operator's core (an SMF or a PCEF asking for quota over Nchf):
  // may call the online charging interfaces and nothing else.
  'network-element',
] as const;

export type Role = (typeof ROLES)[number];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Who is calling: resolved from an API key or a signed bearer token, always within one tenant. */
export interface Principal {
  readonly tenantId: string;
  readonly kind: 'api-key' | 'token' | 'system';
  /** The key id, the token subject, or `system:<job>` for internal work. */
  readonly subject: string;
  readonly roles: readonly Role[];
  /** Set for subscriber principals: the only billing account they may see. */
  readonly accountId?: string;
}

/** True when the principal holds one of the allowed roles (admin holds them all). */
export function hasAnyRole(principal: Principal, allowed: readonly Role[]): boolean {
  return principal.roles.some((role) => role === 'admin' || allowed.includes(role));
}

/** Roles that may read operational data (everything but subscriber and partner). */
export const STAFF_READ_ROLES: readonly Role[] = [
  'admin',
  'catalog-manager',
  'billing-operator',
  'support-agent',
  'finance',
  'read-only',
];
