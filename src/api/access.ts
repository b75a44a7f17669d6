/**
 * Authentication and authorisation for every route.
 *
 * Each route must declare its access in `config.access`: either `{ roles: [...] }` or
 * `{ public: '<why it is public>' }`. The server refuses to start if a route declares neither,
 * so a new route cannot ship unprotected. Credentials: `Authorization: Bearer <API key or signed
 * token>`, `X-Api-Key: <API key>`, or HTTP Basic with an API key as the password. No credentials → 401; a valid principal without an allowed
 * role → 403. Every handler then works inside the principal's tenant only.
 */
import type { FastifyInstance, FastifyRequest, FastifySchema, RouteOptions } from 'fastify';
import { fail } from '../kernel/errors.js';
import { AccessErrors, hasAnyRole, type Principal, type Role } from '../access/index.js';
import { authenticateApiKey, authenticateToken } from '../workflows/api-keys.js';
import type { Caller, WorkflowDeps } from '../workflows/context.js';
import { actorOf } from '../workflows/context.js';

export type RouteAccess = { readonly roles: readonly Role[] } | { readonly public: string };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

export interface RouteEntry {
  readonly method: string;
  readonly url: string;
  readonly access: RouteAccess;
  /** The route's JSON schemas as declared (body, params, querystring...), for tests and tooling. */
  readonly schema: FastifySchema | undefined;
}

function credentialsOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string' && header.length > 0) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match) return match[1];
    const basic = /^Basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header);
    if (basic) return apiKeyOfBasic(basic[1] as string);
    throw fail(
      AccessErrors.invalid_credentials,
      'Authorization must be "Bearer <API key or token>" (or HTTP Basic with an API key as the password)',
    );
  }
  const apiKey = request.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.length > 0) return apiKey;
  return undefined;
}

/**
 * The API key in HTTP Basic credentials: the password (the user name is not checked; `tollgate`
 * reads well). For clients that can send nothing else, such as FreeSWITCH mod_json_cdr (`cred`).
 * Only API keys: a signed token is sent as a bearer token.
 */
function apiKeyOfBasic(encoded: string): string {
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  const password = colon < 0 ? '' : text.slice(colon + 1);
  if (!password.startsWith('tgk_'))
    throw fail(
      AccessErrors.invalid_credentials,
      'HTTP Basic credentials must carry an API key (tgk_...) as the password',
    );
  return password;
}

/**
 * Installs the access checks and returns the route table it builds (method, url, access), which
 * the tests walk to prove that every route answers 401 without credentials and 403 to a wrong role.
 */
export function installAccessControl(
  server: FastifyInstance,
  deps: WorkflowDeps,
  options: { tokenSecret: string | undefined; publicPrefixes: readonly string[] },
): RouteEntry[] {
  const table: RouteEntry[] = [];
  server.decorateRequest('principal', undefined);

  server.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    let access = route.config?.access;
    if (!access && options.publicPrefixes.some((prefix) => route.url.startsWith(prefix))) {
      access = { public: 'API documentation' };
      route.config = { ...route.config, access };
    }
    if (!access) {
      throw new Error(
        `route ${methods.join(',')} ${route.url} declares no access (config.access); refusing to start`,
      );
    }
    for (const method of methods) {
      if (method === 'HEAD') continue;
      table.push({ method, url: route.url, access, schema: route.schema });
    }
  });

  server.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config?.access;
    // Unknown routes have no access declaration: they fall through to the 404 handler.
    if (!access || 'public' in access) return;
    const presented = credentialsOf(request);
    if (!presented)
      throw fail(AccessErrors.missing_credentials, 'send an API key: Authorization: Bearer <key>');
    const principal = presented.startsWith('tgk_')
      ? await authenticateApiKey(deps, presented)
      : await authenticateToken(deps, presented, options.tokenSecret);
    if (!hasAnyRole(principal, access.roles)) {
      throw fail(
        AccessErrors.role_not_allowed,
        `this operation needs one of the roles ${access.roles.join(', ')}; the caller has ${principal.roles.join(', ')}`,
      );
    }
    request.principal = principal;
  });

  return table;
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('principalOf called on a public route');
  return request.principal;
}

export function callerOf(request: FastifyRequest): Caller {
  const principal = principalOf(request);
  return { tenantId: principal.tenantId, actor: actorOf(principal), requestId: String(request.id) };
}
