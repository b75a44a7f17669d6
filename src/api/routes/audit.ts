/** The audit trail: filtered listing and an on-demand chain check. */
import type { FastifyPluginAsync } from 'fastify';
import type { App } from '../../app/container.js';
import type { Role } from '../../access/index.js';
import { listAudit, verifyAudit } from '../../workflows/audit.js';
import { principalOf } from '../access.js';
import { problemResponses } from '../schemas.js';
import { CommonErrors, fail } from '../../kernel/errors.js';

const AUDIT_READERS: readonly Role[] = ['admin', 'finance', 'read-only'];
const MAX_SEQ = 9_223_372_036_854_775_807n;

const recordSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    seq: { type: 'string', description: 'Position in the tenant chain (decimal string: it is 64-bit)' },
    occurredAt: { type: 'string' },
    actorType: { type: 'string' },
    actorId: { type: 'string' },
    action: { type: 'string' },
    entityType: { type: 'string' },
    entityId: { type: 'string' },
    before: {},
    after: {},
    requestId: { type: ['string', 'null'] },
    prevHash: { type: 'string' },
    hash: { type: 'string' },
  },
} as const;

export function auditRoutes(app: App): FastifyPluginAsync {
  return async (server) => {
    server.get(
      '/v1/audit',
      {
        config: { access: { roles: AUDIT_READERS } },
        schema: {
          tags: ['audit'],
          summary: 'List audit records, newest first unless order=asc',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              entityType: { type: 'string', maxLength: 100 },
              entityId: { type: 'string', maxLength: 100 },
              action: { type: 'string', maxLength: 100 },
              actorId: { type: 'string', maxLength: 200 },
              from: { type: 'string', format: 'date-time' },
              to: { type: 'string', format: 'date-time' },
              order: { type: 'string', enum: ['asc', 'desc'], default: 'desc' },
              cursor: {
                type: 'string',
                pattern: '^[0-9]{1,19}$',
                description: 'nextCursor of the previous page',
              },
              limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
            },
          },
          response: {
            200: {
              type: 'object',
              properties: {
                items: { type: 'array', items: recordSchema },
                nextCursor: { type: ['string', 'null'] },
              },
            },
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const q = request.query as {
          entityType?: string;
          entityId?: string;
          action?: string;
          actorId?: string;
          from?: string;
          to?: string;
          order: 'asc' | 'desc';
          cursor?: string;
          limit: number;
        };
        const cursor = q.cursor !== undefined ? BigInt(q.cursor) : undefined;
        // 19 digits can exceed a 64-bit sequence number, which the database would refuse with a 500.
        if (cursor !== undefined && cursor > MAX_SEQ) {
          throw fail(CommonErrors.invalid_input, '/querystring/cursor is beyond the last possible record', {
            field: '/querystring/cursor',
          });
        }
        const result = await listAudit(app, principalOf(request).tenantId, {
          ...(q.entityType !== undefined ? { entityType: q.entityType } : {}),
          ...(q.entityId !== undefined ? { entityId: q.entityId } : {}),
          ...(q.action !== undefined ? { action: q.action } : {}),
          ...(q.actorId !== undefined ? { actorId: q.actorId } : {}),
          ...(q.from !== undefined ? { from: q.from } : {}),
          ...(q.to !== undefined ? { to: q.to } : {}),
          order: q.order,
          limit: q.limit,
          ...(cursor !== undefined ? (q.order === 'asc' ? { afterSeq: cursor } : { beforeSeq: cursor }) : {}),
        });
        return {
          items: result.records.map((r) => ({ ...r, seq: r.seq.toString() })),
          nextCursor: result.nextCursor === null ? null : result.nextCursor.toString(),
        };
      },
    );
    server.get(
      '/v1/audit/verification',
      {
        config: { access: { roles: ['admin', 'finance'] } },
        schema: {
          tags: ['audit'],
          summary: "Check the tenant's hash chain now",
          response: {
            200: {
              type: 'object',
              properties: {
                ok: { type: 'boolean' },
                records: { type: 'integer' },
                problems: { type: 'array', items: { type: 'string' } },
              },
            },
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const tenantId = principalOf(request).tenantId;
        const report = await verifyAudit(app, tenantId);
        const mine = report.summary.tenants.find((t) => t.tenantId === tenantId);
        return { ok: report.summary.ok, records: mine?.records ?? 0, problems: mine?.problems ?? [] };
      },
    );
  };
}
