/**
 * The audit trail: every change to configuration, customer or financial data appends a record to
 * its tenant's hash chain, in the change's own transaction (workflows/context.ts `recordChange`).
 */
export {
  GENESIS_HASH,
  auditRecordId,
  canonicalJson,
  computeHash,
  verifyChain,
  ChainVerifier,
  type AuditRecord,
  type AuditRecordContent,
  type AuditHead,
  type ChainProblem,
  type ChainVerdict,
  type ChainVerifierOptions,
} from './chain.js';
export { AuditErrors } from './errors.js';
export {
  appendAuditRecord,
  listAuditRecords,
  verifyAuditChain,
  assertAuditChainOk,
  MAX_AUDIT_PAGE,
  type AuditInput,
  type AuditFilters,
  type AuditPage,
  type AuditVerifyReport,
  type TenantChainReport,
  type VerifyOptions,
} from './store.js';
