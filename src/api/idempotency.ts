/**
 * Idempotency-Key on POST: every POST handler is wrapped when the route is registered, so no
 * creating or money-moving route can forget it. With the header, the use case and its stored
 * response commit in one transaction (workflows/idempotent.ts); a replay answers with the first
 * response and `Idempotent-Replayed: true`.
 */
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  RouteHandlerMethod,
  RouteOptions,
} from 'fastify';
import { executeIdempotently } from '../workflows/idempotent.js';
import type { WorkflowDeps } from '../workflows/context.js';
import { principalOf } from './access.js';

export function installIdempotency(server: FastifyInstance, deps: WorkflowDeps): void {
  server.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.includes('POST')) return;
    const access = route.config?.access;
    if (!access || 'public' in access) return;
    const original = route.handler as RouteHandlerMethod;
    route.handler = async function idempotentHandler(
      this: FastifyInstance,
      request: FastifyRequest,
      reply: FastifyReply,
    ) {
      const header = request.headers['idempotency-key'];
      if (header === undefined) return original.call(this, request, reply);
      const key = Array.isArray(header) ? header.join(',') : header;
      const principal = principalOf(request);
      const outcome = await executeIdempotently(
        deps,
        {
          tenantId: principal.tenantId,
          key,
          principal: principal.subject,
          method: request.method,
          path: request.url.split('?')[0] ?? request.url,
          body: request.body ?? null,
        },
        async () => {
          const body = await original.call(this, request, reply);
          const location = reply.getHeader('location');
          return {
            statusCode: reply.statusCode,
            body,
            headers: (typeof location === 'string' ? { location } : {}) as Record<string, string>,
          };
        },
      );
      return reply
        .headers(outcome.headers)
        .code(outcome.statusCode)
        .header('idempotent-replayed', String(outcome.replayed))
        .type('application/json; charset=utf-8')
        .send(outcome.bodyText);
    };
    // The route schema advertises the header so clients and the docs know it exists.
    const schema = (route.schema ?? {}) as Record<string, unknown>;
    const headers = (schema.headers ?? { type: 'object', properties: {} }) as {
      type: string;
      properties: Record<string, unknown>;
    };
    headers.properties = {
      ...headers.properties,
      'idempotency-key': {
        type: 'string',
        description: 'Makes the request safe to retry: the same key and body return the first response.',
      },
    };
    route.schema = { ...schema, headers };
  });
}
