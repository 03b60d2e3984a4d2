import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { requestDuration } from '../metrics/request-duration.js';
import { routeName } from './route-name.js';
import { registerOpsRoutes, type OpsDeps } from './ops-routes.js';
import { registerTraceRoutes, type TraceDeps } from './trace-routes.js';
import { registerSearchRoutes, type SearchDeps } from './search-routes.js';
import { registerGeneratorRoutes, type GeneratorDeps } from './generator-routes.js';

export interface ApiServerOptions extends OpsDeps, TraceDeps, SearchDeps, GeneratorDeps {
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
}

/** The HTTP API on Tempo's port 3100: query endpoints, operations endpoints and /metrics. */
export async function startApiServer(opts: ApiServerOptions): Promise<{ app: FastifyInstance; port: number; close(): Promise<void> }> {
  const app = Fastify({ logger: false, bodyLimit: 1 << 20 });
  app.addHook('onResponse', async (req, reply) => {
    requestDuration.observe(
      { method: req.method, route: routeName(req.routeOptions.url), status_code: String(reply.statusCode), ws: 'false' },
      reply.elapsedTime / 1000,
    );
  });
  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) opts.logger.error({ err }, 'API request failed');
    void reply.code(status).type('text/plain; charset=utf-8').send(err.message);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).type('text/plain; charset=utf-8').send(`404 page not found: ${req.method} ${req.url}`);
  });
  registerOpsRoutes(app, opts);
  registerTraceRoutes(app, opts);
  registerSearchRoutes(app, opts);
  registerGeneratorRoutes(app, opts);
  await app.listen({ host: opts.host, port: opts.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
  return { app, port, close: () => app.close() };
}
