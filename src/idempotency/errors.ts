import { defineErrorCodes } from '../kernel/errors.js';

export const IdempotencyErrors = defineErrorCodes('idempotency', {
  invalid_key: { kind: 'validation', title: 'Invalid Idempotency-Key' },
  key_reused: { kind: 'precondition', title: 'Idempotency-Key reused with a different request' },
});
