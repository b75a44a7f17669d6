/** Webhook subscriptions, their deliveries and the delivery log. */
import type { FastifyPluginAsync } from 'fastify';
import type { App } from '../../app/container.js';
import type { Role } from '../../access/index.js';
import {
  createWebhookSubscription,
  deleteWebhookSubscription,
  getWebhookDelivery,
  getWebhookSubscription,
  listWebhookDeliveries,
  listWebhookSubscriptions,
  retryWebhookDelivery,
  rotateWebhookSecret,
  updateWebhookSubscription,
} from '../../workflows/webhooks.js';
import { callerOf, principalOf } from '../access.js';
import { idParams, page, pageQueryProperties, pageSchema, problemResponses } from '../schemas.js';

const READ: readonly Role[] = ['admin', 'read-only'];
const WRITE: readonly Role[] = ['admin'];

const subscriptionSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    url: { type: 'string' },
    eventTypes: { type: 'array', items: { type: 'string' } },
    status: { type: 'string', enum: ['active', 'disabled'] },
    description: { type: 'string' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;

const withSecretSchema = {
  type: 'object',
  properties: {
    subscription: subscriptionSchema,
    secret: { type: 'string', description: 'The signing secret: shown in this response only' },
  },
} as const;

const deliverySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    subscriptionId: { type: 'string' },
    eventId: { type: 'string' },
    eventType: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'succeeded', 'failed'] },
    attempts: { type: 'integer' },
    nextAttemptAt: { type: 'string' },
    lastStatusCode: { type: 'integer' },
    lastError: { type: 'string' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    deliveredAt: { type: 'string' },
  },
} as const;

const attemptSchema = {
  type: 'object',
  properties: {
    attempt: { type: 'integer' },
    startedAt: { type: 'string' },
    durationMs: { type: 'integer' },
    statusCode: { type: 'integer' },
    error: { type: 'string' },
    responseExcerpt: { type: 'string' },
  },
} as const;

const eventTypesSchema = {
  type: 'array',
  minItems: 1,
  maxItems: 100,
  items: { type: 'string', minLength: 1, maxLength: 100 },
  description: 'Event types to receive: exact types, `prefix.*`, or `*` for all',
} as const;

export function webhookRoutes(app: App): FastifyPluginAsync {
  return async (server) => {
    server.post(
      '/v1/webhook-subscriptions',
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: ['webhooks'],
          summary: 'Subscribe a URL to domain events (signed with HMAC-SHA256)',
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['url'],
            properties: {
              url: { type: 'string', minLength: 1, maxLength: 2000 },
              eventTypes: eventTypesSchema,
              description: { type: 'string', maxLength: 500 },
              status: { type: 'string', enum: ['active', 'disabled'] },
            },
          },
          response: { 201: withSecretSchema, ...problemResponses },
        },
      },
      async (request, reply) => {
        const created = await createWebhookSubscription(
          app,
          callerOf(request),
          request.body as { url: string; eventTypes?: string[]; description?: string },
        );
        reply.code(201).header('location', `/v1/webhook-subscriptions/${created.subscription.id}`);
        return created;
      },
    );
    server.get(
      '/v1/webhook-subscriptions',
      {
        config: { access: { roles: READ } },
        schema: {
          tags: ['webhooks'],
          summary: 'List webhook subscriptions',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: { ...pageQueryProperties, status: { type: 'string', enum: ['active', 'disabled'] } },
          },
          response: { 200: pageSchema(subscriptionSchema), ...problemResponses },
        },
      },
      async (request) => {
        const query = request.query as { limit: number; after?: string; status?: 'active' | 'disabled' };
        return page(await listWebhookSubscriptions(app, principalOf(request).tenantId, query), query.limit);
      },
    );
    server.get(
      '/v1/webhook-subscriptions/:id',
      {
        config: { access: { roles: READ } },
        schema: {
          tags: ['webhooks'],
          summary: 'Read a webhook subscription',
          params: idParams('whs'),
          response: { 200: subscriptionSchema, ...problemResponses },
        },
      },
      async (request) =>
        getWebhookSubscription(app, principalOf(request).tenantId, (request.params as { id: string }).id),
    );
    server.patch(
      '/v1/webhook-subscriptions/:id',
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: ['webhooks'],
          summary: 'Change a subscription (URL, event types, description, enable/disable)',
          params: idParams('whs'),
          body: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: {
              url: { type: 'string', minLength: 1, maxLength: 2000 },
              eventTypes: eventTypesSchema,
              description: { type: 'string', maxLength: 500 },
              status: { type: 'string', enum: ['active', 'disabled'] },
            },
          },
          response: { 200: subscriptionSchema, ...problemResponses },
        },
      },
      async (request) =>
        updateWebhookSubscription(
          app,
          callerOf(request),
          (request.params as { id: string }).id,
          request.body as object,
        ),
    );
    server.delete(
      '/v1/webhook-subscriptions/:id',
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: ['webhooks'],
          summary: 'Delete a subscription and its delivery log',
          params: idParams('whs'),
          response: { 204: { type: 'null' }, ...problemResponses },
        },
      },
      async (request, reply) => {
        await deleteWebhookSubscription(app, callerOf(request), (request.params as { id: string }).id);
        return reply.code(204).send();
      },
    );
    server.post(
      '/v1/webhook-subscriptions/:id/rotate-secret',
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: ['webhooks'],
          summary: 'Replace the signing secret (the new one is in this response only)',
          params: idParams('whs'),
          response: { 200: withSecretSchema, ...problemResponses },
        },
      },
      async (request) => rotateWebhookSecret(app, callerOf(request), (request.params as { id: string }).id),
    );
    server.get(
      '/v1/webhook-deliveries',
      {
        config: { access: { roles: READ } },
        schema: {
          tags: ['webhooks'],
          summary: 'List deliveries, newest first',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              ...pageQueryProperties,
              subscriptionId: { type: 'string', maxLength: 100 },
              eventId: { type: 'string', maxLength: 100 },
              status: { type: 'string', enum: ['pending', 'succeeded', 'failed'] },
            },
          },
          response: { 200: pageSchema(deliverySchema), ...problemResponses },
        },
      },
      async (request) => {
        const query = request.query as {
          limit: number;
          after?: string;
          subscriptionId?: string;
          eventId?: string;
          status?: 'pending' | 'succeeded' | 'failed';
        };
        return page(await listWebhookDeliveries(app, principalOf(request).tenantId, query), query.limit);
      },
    );
    server.get(
      '/v1/webhook-deliveries/:id',
      {
        config: { access: { roles: READ } },
        schema: {
          tags: ['webhooks'],
          summary: 'Read a delivery with its attempt log',
          params: idParams('whd'),
          response: {
            200: {
              type: 'object',
              properties: {
                ...deliverySchema.properties,
                attemptLog: { type: 'array', items: attemptSchema },
              },
            },
            ...problemResponses,
          },
        },
      },
      async (request) =>
        getWebhookDelivery(app, principalOf(request).tenantId, (request.params as { id: string }).id),
    );
    server.post(
      '/v1/webhook-deliveries/:id/retry',
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: ['webhooks'],
          summary: 'Send a failed delivery again',
          params: idParams('whd'),
          response: { 200: deliverySchema, ...problemResponses },
        },
      },
      async (request) => retryWebhookDelivery(app, callerOf(request), (request.params as { id: string }).id),
    );
  };
}
