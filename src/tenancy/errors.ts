import { defineErrorCodes } from '../kernel/errors.js';

export const TenancyErrors = defineErrorCodes('tenancy', {
  tenant_not_found: { kind: 'not_found', title: 'Tenant not found' },
  slug_taken: { kind: 'conflict', title: 'Tenant slug already in use' },
  invalid_slug: { kind: 'validation', title: 'Invalid tenant slug' },
  invalid_time_zone: { kind: 'validation', title: 'Unknown IANA time zone' },
  tenant_suspended: { kind: 'forbidden', title: 'Tenant suspended' },
});
