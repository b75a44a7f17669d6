import { defineErrorCodes } from '../kernel/errors.js';

export const AccessErrors = defineErrorCodes('access', {
  missing_credentials: { kind: 'unauthenticated', title: 'Credentials required' },
  invalid_credentials: { kind: 'unauthenticated', title: 'Invalid credentials' },
  key_revoked: { kind: 'unauthenticated', title: 'API key revoked' },
  key_expired: { kind: 'unauthenticated', title: 'API key expired' },
  token_invalid: { kind: 'unauthenticated', title: 'Invalid bearer token' },
  token_expired: { kind: 'unauthenticated', title: 'Bearer token expired' },
  role_not_allowed: { kind: 'forbidden', title: 'Role not allowed' },
  invalid_role: { kind: 'validation', title: 'Unknown role' },
  invalid_expiry: { kind: 'validation', title: 'Expiry not in the future' },
  key_not_found: { kind: 'not_found', title: 'API key not found' },
  tokens_disabled: { kind: 'config', title: 'Bearer tokens are not configured' },
});
