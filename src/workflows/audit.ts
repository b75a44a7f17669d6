/** Reading and verifying the audit trail. */
import { ERROR_KINDS } from '../kernel/errors.js';
import { listAuditRecords, verifyAuditChain, type AuditFilters, type AuditPage } from '../audit/index.js';
import { readExecutor, type WorkflowDeps } from './context.js';

export function listAudit(deps: WorkflowDeps, tenantId: string, filters: AuditFilters): Promise<AuditPage> {
  return listAuditRecords(readExecutor(deps), tenantId, filters);
}

export interface AuditVerification {
  readonly summary: {
    ok: boolean;
    tenants: Array<{ tenantId: string; records: number; ok: boolean; problems: string[] }>;
  };
  readonly text: string;
  /** Exit code for the CLI when the chain is broken: an integrity failure. */
  readonly exitCode: number;
}

export async function verifyAudit(deps: WorkflowDeps, tenantId?: string): Promise<AuditVerification> {
  const report = await verifyAuditChain(readExecutor(deps), tenantId);
  const tenants = report.tenants.map((t) => ({
    tenantId: t.tenantId,
    records: t.records,
    ok: t.ok,
    problems: t.problems.map((p) => p.message),
  }));
  const lines = tenants.map((t) =>
    t.ok
      ? `ok      ${t.tenantId}  ${t.records} records`
      : [`BROKEN  ${t.tenantId}  ${t.records} records`, ...t.problems.map((p) => `        - ${p}`)].join(
          '\n',
        ),
  );
  const verdict = report.ok
    ? `Audit chain intact for ${tenants.length} tenant(s).`
    : `Audit chain BROKEN: records were changed or deleted.`;
  return {
    summary: { ok: report.ok, tenants },
    text: [...lines, verdict].join('\n'),
    exitCode: ERROR_KINDS.integrity.exitCode,
  };
}
