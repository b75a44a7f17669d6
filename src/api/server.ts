/**
 * The HTTP API: Fastify with strict JSON Schema validation, problem+json errors, authentication
 * and roles on every route, Idempotency-Key on every POST, OpenAPI 3.1 at /openapi.json with a
 * browsable reference at /docs, health at /healthz and /readyz, Prometheus metrics at /metrics,
 * and JSON logs with request ids. Routes are thin: they translate and call workflows.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { App } from '../app/container.js';
import { newId } from '../kernel/ids.js';
import { CommonErrors, fail } from '../kernel/errors.js';
import { installAccessControl, type RouteEntry } from './access.js';
import { installIdempotency } from './idempotency.js';
import { installMetrics } from './metrics.js';
import { problemSchema, sendProblem } from './problem.js';
import { createValidatorCompiler } from './validation.js';
import { healthRoutes } from './routes/health.js';
import { tenantRoutes } from './routes/tenant.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { webhookRoutes } from './routes/webhooks.js';
import { eventRoutes } from './routes/events.js';
import { auditRoutes } from './routes/audit.js';
import { customerRoutes } from './routes/customers.js';
import { catalogRoutes } from './routes/catalog.js';
import { usageRoutes } from './routes/usage.js';
import { chargingRoutes } from './routes/charging.js';

export const API_VERSION = '0.1.0';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route with its declared access, in registration order. */
    routeTable: RouteEntry[];
  }
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,100}$/;

export async function buildServer(app: App): Promise<FastifyInstance> {
  const server = Fastify({
    loggerInstance: app.logger.child({ component: 'api' }) as FastifyBaseLogger,
    bodyLimit: app.config.bodyLimitBytes,
    // A caller's X-Request-Id is kept when it is sane, so one id follows a request across systems.
    // genReqId reads the header itself: with requestIdHeader set, Fastify would take any value
    // as given (spaces, markup, any length) and never call genReqId.
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : newId('req', app.clock);
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { removeAdditional: false } },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // Errors the router raises before any route matches (a malformed URL, an over-long path
    // parameter) leave as problem documents too, not as Fastify's own JSON.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', String(request.id));
      return sendProblem(error, request, reply);
    },
  });
  server.setValidatorCompiler(createValidatorCompiler());
  server.addSchema(problemSchema);

  // The API speaks JSON only: a text/plain body is refused with 415 rather than handed to routes.
  server.removeContentTypeParser('text/plain');
  // A route that declares no query parameters accepts none: an unknown one is a 400, not ignored.
  server.addHook('onRoute', (route) => {
    const access = route.config?.access;
    if (!access || 'public' in access) return;
    const schema = (route.schema ?? {}) as Record<string, unknown>;
    if (schema.querystring === undefined) {
      route.schema = {
        ...schema,
        querystring: { type: 'object', additionalProperties: false, properties: {} },
      };
    }
    // Likewise a POST that declares no body (revoke, retry...) takes none, or an empty object.
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (methods.includes('POST') && schema.body === undefined) {
      route.schema = {
        ...route.schema,
        body: { type: 'object', additionalProperties: false, properties: {} },
      };
      // Sending no body at all is the usual way to call such a route: treat it as {}.
      const existing = route.preValidation;
      const defaultEmptyBody = async (request: { body: unknown }) => {
        if (request.body === undefined) request.body = {};
      };
      route.preValidation = existing
        ? [...(Array.isArray(existing) ? existing : [existing]), defaultEmptyBody]
        : defaultEmptyBody;
    }
  });

  // PATCH bodies may be sent as JSON Merge Patch (RFC 7396), as TM Forum APIs do.
  server.addContentTypeParser(
    'application/merge-patch+json',
    { parseAs: 'string' },
    server.getDefaultJsonParser('error', 'error'),
  );

  server.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', String(request.id));
  });

  const deps = { database: app.database, clock: app.clock };
  const table = installAccessControl(server, deps, {
    tokenSecret: app.config.tokenSecret,
    publicPrefixes: ['/docs'],
  });
  server.decorate('routeTable', table);
  installIdempotency(server, deps);
  const registry = installMetrics(server);

  server.setErrorHandler((error, request, reply) => sendProblem(error, request, reply));
  server.setNotFoundHandler((request, reply) =>
    sendProblem(
      fail(CommonErrors.not_found, `no route ${request.method} ${request.url.split('?')[0]}`, {
        field: 'url',
      }),
      request,
      reply,
    ),
  );

  await server.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tollgate API',
        version: API_VERSION,
        description:
          'Convergent telecom billing and charging. Authenticate with `Authorization: Bearer <API key>`. ' +
          'Errors are RFC 9457 problem documents. POST requests accept an `Idempotency-Key` header.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An API key (tgk_...) or a signed token' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
        },
      },
    },
    // Declared roles go into each operation's description and security requirement.
    transform: ({ schema, url, route }) => {
      const access = route.config?.access;
      const out = { ...(schema as Record<string, unknown>) } as Record<string, unknown>;
      if (access && 'roles' in access) {
        out.security = [{ bearer: [] }, { apiKey: [] }];
        const roles = `Roles: ${['admin', ...access.roles.filter((r) => r !== 'admin')].join(', ')}.`;
        out.description = out.description ? `${String(out.description)}\n\n${roles}` : roles;
      }
      return { schema: out as never, url };
    },
  });
  await server.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  await server.register(healthRoutes(app, registry));
  await server.register(tenantRoutes(app));
  await server.register(apiKeyRoutes(app));
  await server.register(webhookRoutes(app));
  await server.register(eventRoutes(app));
  await server.register(auditRoutes(app));
  await server.register(customerRoutes(app));
  await server.register(catalogRoutes(app));
  await server.register(usageRoutes(app));
  await server.register(chargingRoutes(app));

  server.get(
    '/openapi.json',
    { config: { access: { public: 'the API description is public' } }, schema: { hide: true } },
    async () => server.swagger(),
  );

  await server.ready();
  return server;
}
