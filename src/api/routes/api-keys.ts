/** API keys of the caller's tenant: create (secret shown once), list, read, revoke. */
import type { FastifyPluginAsync } from 'fastify';
import type { App } from '../../app/container.js';
import { ROLES } from '../../access/index.js';
import { parseInstant } from '../../kernel/clock.js';
import { CommonErrors, fail } from '../../kernel/errors.js';
import { createApiKey, getApiKey, listApiKeys, revokeApiKey } from '../../workflows/api-keys.js';
import { callerOf, principalOf } from '../access.js';
import {
  idParams,
  instantSchema,
  page,
  pageQueryProperties,
  pageSchema,
  problemResponses,
} from '../schemas.js';

const apiKeySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    displayPrefix: { type: 'string' },
    roles: { type: 'array', items: { type: 'string' } },
    accountId: { type: 'string' },
    status: { type: 'string', enum: ['active', 'revoked'] },
    createdAt: { type: 'string' },
    createdBy: { type: 'string' },
    expiresAt: { type: 'string' },
    revokedAt: { type: 'string' },
    lastUsedAt: { type: 'string' },
  },
} as const;

export function apiKeyRoutes(app: App): FastifyPluginAsync {
  return async (server) => {
    server.post(
      '/v1/api-keys',
      {
        config: { access: { roles: ['admin'] } },
        schema: {
          tags: ['access'],
          summary: 'Create an API key; the secret is in this response only',
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'roles'],
            properties: {
              name: { type: 'string', minLength: 1, maxLength: 200 },
              roles: {
                type: 'array',
                minItems: 1,
                maxItems: ROLES.length,
                items: { type: 'string', enum: ROLES },
              },
              accountId: { type: 'string', minLength: 1, maxLength: 100 },
              expiresAt: instantSchema,
            },
          },
          response: {
            201: { type: 'object', properties: { key: apiKeySchema, secret: { type: 'string' } } },
            ...problemResponses,
          },
        },
      },
      async (request, reply) => {
        const body = request.body as {
          name: string;
          roles: string[];
          accountId?: string;
          expiresAt?: string;
        };
        // The schema's date-time format admits texts Date cannot read (a leap second, 23:59:60).
        const expiresAt = body.expiresAt === undefined ? undefined : parseInstant(body.expiresAt);
        if (body.expiresAt !== undefined && expiresAt === undefined) {
          throw fail(CommonErrors.invalid_input, '/body/expiresAt is not a date-time this server can read', {
            field: '/body/expiresAt',
          });
        }
        const created = await createApiKey(app, callerOf(request), {
          ...body,
          ...(expiresAt !== undefined ? { expiresAt } : {}),
        });
        reply.code(201).header('location', `/v1/api-keys/${created.key.id}`);
        return created;
      },
    );
    server.get(
      '/v1/api-keys',
      {
        config: { access: { roles: ['admin'] } },
        schema: {
          tags: ['access'],
          summary: "List the tenant's API keys (never their secrets)",
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: { ...pageQueryProperties, status: { type: 'string', enum: ['active', 'revoked'] } },
          },
          response: { 200: pageSchema(apiKeySchema), ...problemResponses },
        },
      },
      async (request) => {
        const query = request.query as { limit: number; after?: string; status?: 'active' | 'revoked' };
        const items = await listApiKeys(app, principalOf(request).tenantId, query);
        return page(items, query.limit);
      },
    );
    server.get(
      '/v1/api-keys/:id',
      {
        config: { access: { roles: ['admin'] } },
        schema: {
          tags: ['access'],
          summary: 'Read one API key',
          params: idParams('key'),
          response: { 200: apiKeySchema, ...problemResponses },
        },
      },
      async (request) => getApiKey(app, principalOf(request).tenantId, (request.params as { id: string }).id),
    );
    server.post(
      '/v1/api-keys/:id/revoke',
      {
        config: { access: { roles: ['admin'] } },
        schema: {
          tags: ['access'],
          summary: 'Revoke an API key at once',
          params: idParams('key'),
          response: { 200: apiKeySchema, ...problemResponses },
        },
      },
      async (request) => revokeApiKey(app, callerOf(request), (request.params as { id: string }).id),
    );
  };
}
