/** The tenant's domain events, as written to the outbox. */
import type { FastifyPluginAsync } from 'fastify';
import type { App } from '../../app/container.js';
import { STAFF_READ_ROLES } from '../../access/index.js';
import { getDomainEvent, listDomainEvents } from '../../workflows/webhooks.js';
import { principalOf } from '../access.js';
import { idParams, page, pageQueryProperties, pageSchema, problemResponses } from '../schemas.js';

const eventSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    type: { type: 'string' },
    entityType: { type: 'string' },
    entityId: { type: 'string' },
    payload: {},
    occurredAt: { type: 'string' },
    fannedOutAt: { type: 'string' },
  },
} as const;

export function eventRoutes(app: App): FastifyPluginAsync {
  return async (server) => {
    server.get(
      '/v1/events',
      {
        config: { access: { roles: STAFF_READ_ROLES } },
        schema: {
          tags: ['events'],
          summary: 'List domain events, oldest first (page with `after`)',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: { ...pageQueryProperties, type: { type: 'string', maxLength: 100 } },
          },
          response: { 200: pageSchema(eventSchema), ...problemResponses },
        },
      },
      async (request) => {
        const query = request.query as { limit: number; after?: string; type?: string };
        return page(await listDomainEvents(app, principalOf(request).tenantId, query), query.limit);
      },
    );
    server.get(
      '/v1/events/:id',
      {
        config: { access: { roles: STAFF_READ_ROLES } },
        schema: {
          tags: ['events'],
          summary: 'Read one domain event',
          params: idParams('evt'),
          response: { 200: eventSchema, ...problemResponses },
        },
      },
      async (request) =>
        getDomainEvent(app, principalOf(request).tenantId, (request.params as { id: string }).id),
    );
  };
}
