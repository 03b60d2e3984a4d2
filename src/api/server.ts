import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { requestDuration } from '../metrics/request-duration.js';
import { routeName } from './route-name.js';
import { ClientGone, QueryTimeout } from './deadline.js';
import { queryTimeouts } from './metrics.js';
import { registerOpsRoutes, type OpsDeps } from './ops-routes.js';
import { registerTraceRoutes, type TraceDeps } from './trace-routes.js';
import { registerSearchRoutes, type SearchDeps } from './search-routes.js';
import { applyListenerLimits, DEFAULT_HTTP_LISTENER, fastifyTimeouts, type HttpListenerLimits } from '../util/http-listener.js';
import { registerGeneratorRoutes, type GeneratorDeps } from './generator-routes.js';
import { registerMetricsRoutes, type MetricsDeps } from './metrics-routes.js';
import { registerUiRoutes } from './ui-routes.js';
import { type ApiGateOptions, installApiGate } from '../auth/api-gate.js';

export interface ApiServerOptions extends OpsDeps, TraceDeps, SearchDeps, GeneratorDeps, MetricsDeps {
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  /** Timeouts, connection cap and TCP keepalive. Default: Tempo's server defaults, no cap. */
  readonly listener?: HttpListenerLimits;
  /** Tenant checks and access control in front of every route. Default: multitenancy as above, `a|b` allowed, no auth. */
  readonly gate?: ApiGateOptions;
}

/** The HTTP API on Tempo's port 3100: query endpoints, operations endpoints and /metrics. */
export async function startApiServer(opts: ApiServerOptions): Promise<{ app: FastifyInstance; port: number; close(): Promise<void> }> {
  const listener = opts.listener ?? DEFAULT_HTTP_LISTENER;
  const app = Fastify({ logger: false, bodyLimit: 1 << 20, ...fastifyTimeouts(listener) });
  applyListenerLimits(app.server, listener);
  app.addHook('onResponse', async (req, reply) => {
    requestDuration.observe(
      { method: req.method, route: routeName(req.routeOptions.url), status_code: String(reply.statusCode), ws: 'false' },
      reply.elapsedTime / 1000,
    );
  });
  app.setErrorHandler((err: { statusCode?: number; message: string }, req, reply) => {
    if (err instanceof QueryTimeout) {
      queryTimeouts.inc({ route: routeName(req.routeOptions.url) });
      void reply.code(504).type('text/plain; charset=utf-8').send(err.message);
      return;
    }
    if (err instanceof ClientGone) {
      // Nobody is left to read an answer; the work it started has been stopped.
      void reply.code(499).send();
      return;
    }
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status < 500) {
      void reply.code(status).type('text/plain; charset=utf-8').send(err.message);
      return;
    }
    // Internal errors can carry file paths or SQL: those go to the log, the client gets an ID to quote.
    opts.logger.error({ err, reqId: req.id, url: req.url }, 'API request failed');
    void reply.code(status).type('text/plain; charset=utf-8').send(`internal error (request ${req.id}; details in the server log)`);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).type('text/plain; charset=utf-8').send(`404 page not found: ${req.method} ${req.url}`);
  });
  installApiGate(app, opts.gate ?? { multitenancy: opts.multitenancy, multiTenantQueries: true, access: null });
  registerOpsRoutes(app, opts);
  registerTraceRoutes(app, opts);
  registerSearchRoutes(app, opts);
  registerGeneratorRoutes(app, opts);
  registerMetricsRoutes(app, opts);
  registerUiRoutes(app);
  await app.listen({ host: opts.host, port: opts.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
  return { app, port, close: () => app.close() };
}
