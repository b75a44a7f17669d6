/** Liveness, readiness and metrics. */
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import type { App } from '../../app/container.js';
import { checkReadiness } from '../../workflows/health.js';
import { CommonErrors, fail } from '../../kernel/errors.js';

export function healthRoutes(app: App, registry: Registry): FastifyPluginAsync {
  return async (server) => {
    server.get(
      '/healthz',
      {
        config: { access: { public: 'load balancers probe it without credentials' } },
        schema: {
          tags: ['operations'],
          summary: 'Liveness: the process is up',
          response: { 200: { type: 'object', properties: { status: { type: 'string' } } } },
        },
      },
      async () => ({ status: 'ok' }),
    );
    server.get(
      '/readyz',
      {
        config: { access: { public: 'load balancers probe it without credentials' } },
        schema: {
          tags: ['operations'],
          summary: 'Readiness: the database answers and its schema is current',
          response: {
            200: {
              type: 'object',
              properties: {
                status: { type: 'string' },
                database: { type: 'string' },
                pendingMigrations: { type: 'integer' },
              },
            },
          },
        },
      },
      async () => {
        const report = await checkReadiness(app);
        if (!report.ready) throw fail(CommonErrors.unavailable, report.reason ?? 'not ready');
        return { status: 'ready', database: app.database.dialect, pendingMigrations: 0 };
      },
    );
    server.get(
      '/metrics',
      {
        config: { access: { roles: ['read-only'] } },
        schema: { tags: ['operations'], summary: 'Prometheus metrics (text exposition format)' },
      },
      async (_request, reply) => {
        reply.type(registry.contentType);
        return registry.metrics();
      },
    );
  };
}
