import { defineErrorCodes } from '../kernel/errors.js';

export const AuditErrors = defineErrorCodes('audit', {
  chain_broken: { kind: 'integrity', title: 'Audit chain broken' },
  invalid_filter: { kind: 'validation', title: 'Invalid audit filter' },
  invalid_record: { kind: 'validation', title: 'Invalid audit record' },
});
