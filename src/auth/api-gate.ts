// One gate in front of every API route, so no route can forget it: it reads the tenants a request
// names (X-Scope-OrgID, `a|b` for a cross-tenant query) and, with auth.enabled, asks for a token with
// the read right that reaches each of them. Routes are closed unless listed open here, so a route
// added later needs a token until someone decides otherwise.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { orgIdHeader, parseOrgIds, TenantRefused } from '../api/tenant.js';
import { PAGES } from '../api/ui-routes.js';
import { type AccessControl, AuthDenied, type TenantScope } from './access.js';
import { asCaller } from './caller.js';
import { type HeaderGetter, httpHeaders, presentedToken } from './credentials.js';

export interface ApiGateOptions {
  readonly multitenancy: boolean;
  /** Tempo's query_frontend.multi_tenant_queries_enabled: `a|b` is refused with 400 when false. */
  readonly multiTenantQueries: boolean;
  /** null: access control off (the default); only the tenant checks apply. */
  readonly access: ApiAccess | null;
}

export interface ApiAccess {
  readonly control: AccessControl;
  /** Custom header carrying the token, lower case. */
  readonly header: string;
  /** Whether /metrics needs a read token too. */
  readonly protectMetrics: boolean;
}

/**
 * Open without a token: probes and operations (as in Tempo, where a gateway guards only the query
 * paths), and the UI's static pages, whose API calls then carry the token.
 */
const OPEN_ROUTES: ReadonlySet<string> = new Set([
  '/ready',
  '/api/echo',
  '/flush',
  '/status',
  '/status/buildinfo',
  '/api/status/buildinfo',
  '/status/config',
  '/status/services',
  '/status/version',
  '/assets/:name',
  ...PAGES,
]);

/** Routes that read one tenant only (rubato's own, not federated in Tempo either). */
const SINGLE_TENANT_ROUTES: ReadonlySet<string> = new Set(['/api/service-graph', '/metrics/generator']);

/** Routes that, with multitenancy and no X-Scope-OrgID, answer for every tenant. */
const ALL_TENANTS_ROUTES: ReadonlySet<string> = new Set(['/metrics/generator']);

const MULTI_TENANT_UNSUPPORTED = 'multi-tenant query unsupported';

/**
 * The same checks for a query that arrives outside fastify (Grafana's streaming gRPC on the API port):
 * throws AuthDenied (401/403) or TenantRefused (400, also for `a|b` where cross-tenant queries are off).
 */
export function admitStreamingQuery(get: HeaderGetter, opts: ApiGateOptions): void {
  const access = opts.access;
  const grant = access === null ? null : access.control.authorize(presentedToken(get, access.header), 'read', 'api');
  if (!opts.multitenancy) return;
  const orgId = get('x-scope-orgid')?.trim();
  if (orgId === undefined || orgId === '') return;
  const tenants = parseOrgIds(orgId);
  if (tenants.length > 1 && !opts.multiTenantQueries) throw new TenantRefused(MULTI_TENANT_UNSUPPORTED);
  if (access !== null && grant !== null) access.control.checkTenants(grant, tenants, 'api');
}

export function installApiGate(app: FastifyInstance, opts: ApiGateOptions): void {
  const refuse = (reply: FastifyReply, status: number, message: string): FastifyReply => {
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="rubato"');
    return reply.code(status).type('text/plain; charset=utf-8').send(message);
  };
  // The caller's token stays with the request's work (a query frontend hands it on to queriers);
  // a callback hook, so the handler runs inside the context.
  const access = opts.access;
  if (access !== null) app.addHook('onRequest', (req, _reply, done) => asCaller(presentedToken(httpHeaders(req.headers), access.header), done));
  app.addHook('onRequest', async (req, reply) => {
    // Unknown paths (undefined) are closed too: without a token a prober learns nothing, not even 404.
    const route = req.routeOptions.url;
    if (route !== undefined && OPEN_ROUTES.has(route)) return undefined;
    if (route === '/metrics' && opts.access?.protectMetrics !== true) return undefined;
    const access = opts.access;
    let grant = null;
    if (access !== null) {
      try {
        grant = access.control.authorize(presentedToken(httpHeaders(req.headers), access.header), 'read', 'api');
      } catch (err) {
        if (err instanceof AuthDenied) return refuse(reply, err.status, err.message);
        throw err;
      }
    }
    if (route === undefined || route === '/metrics' || !opts.multitenancy) return undefined;
    let tenants: TenantScope = [];
    const orgId = orgIdHeader(req.headers);
    if (orgId !== undefined) {
      try {
        tenants = parseOrgIds(orgId);
      } catch (err) {
        if (err instanceof TenantRefused) return refuse(reply, 400, err.message);
        throw err;
      }
      if (tenants.length > 1 && (!opts.multiTenantQueries || SINGLE_TENANT_ROUTES.has(route))) return refuse(reply, 400, MULTI_TENANT_UNSUPPORTED);
    } else if (ALL_TENANTS_ROUTES.has(route)) {
      tenants = 'all';
    }
    if (access !== null && grant !== null) {
      try {
        access.control.checkTenants(grant, tenants, 'api');
      } catch (err) {
        if (err instanceof AuthDenied) return refuse(reply, err.status, err.message);
        throw err;
      }
    }
    return undefined;
  });
}
