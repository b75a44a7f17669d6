/** The caller's own tenant: its profile and defaults. */
import type { FastifyPluginAsync } from 'fastify';
import type { App } from '../../app/container.js';
import { ROLES } from '../../access/index.js';
import { getTenant, updateTenantProfile } from '../../workflows/tenants.js';
import { callerOf, principalOf } from '../access.js';
import { problemResponses } from '../schemas.js';

const tenantSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    slug: { type: 'string' },
    name: { type: 'string' },
    status: { type: 'string', enum: ['active', 'suspended'] },
    settings: {
      type: 'object',
      properties: {
        defaultCurrency: { type: 'string' },
        timeZone: { type: 'string' },
        locale: { type: 'string' },
      },
    },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;

export function tenantRoutes(app: App): FastifyPluginAsync {
  return async (server) => {
    server.get(
      '/v1/tenant',
      {
        config: { access: { roles: ROLES } },
        schema: {
          tags: ['tenant'],
          summary: "The caller's tenant",
          response: { 200: tenantSchema, ...problemResponses },
        },
      },
      async (request) => getTenant(app, principalOf(request).tenantId),
    );
    server.patch(
      '/v1/tenant',
      {
        config: { access: { roles: ['admin'] } },
        schema: {
          tags: ['tenant'],
          summary: "Change the tenant's name or defaults",
          body: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: {
              name: { type: 'string', minLength: 1, maxLength: 200 },
              settings: {
                type: 'object',
                additionalProperties: false,
                properties: {
                  defaultCurrency: { type: 'string', pattern: '^[A-Z]{3}$' },
                  timeZone: { type: 'string', minLength: 1, maxLength: 64 },
                  locale: { type: 'string', pattern: '^[a-z]{2,3}(-[A-Z]{2})?$' },
                },
              },
            },
          },
          response: { 200: tenantSchema, ...problemResponses },
        },
      },
      async (request) =>
        updateTenantProfile(
          app,
          callerOf(request),
          request.body as { name?: string; settings?: Record<string, string> },
        ),
    );
  };
}
