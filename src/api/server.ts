import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { requestDuration } from '../metrics/request-duration.js';
import { routeName } from './route-name.js';
import { ClientGone, QueryTimeout } from './deadline.js';
import { queryTimeouts } from './metrics.js';
import { registerOpsRoutes, type OpsDeps } from './ops-routes.js';
import { registerTraceRoutes, type TraceDeps } from './trace-routes.js';
import { registerSearchRoutes, type SearchDeps } from './search-routes.js';
import { applyListenerLimits, DEFAULT_HTTP_LISTENER, type HttpListenerLimits } from '../util/http-listener.js';
import type { CertificateWatcher } from '../tls/certificate-watcher.js';
import { createNodeServer } from '../tls/http-server.js';
import { registerGeneratorRoutes, type GeneratorDeps } from './generator-routes.js';
import { registerMetricsRoutes, type MetricsDeps } from './metrics-routes.js';
import { registerUiRoutes } from './ui-routes.js';
import { createStreamingQuerier } from './streaming.js';
import { shareWithGrpc } from './h2c.js';
import type { GrpcConnectionOptions } from '../receivers/grpc.js';
import type { Duplex } from 'node:stream';
import { type ApiGateOptions, installApiGate } from '../auth/api-gate.js';

export interface ApiServerOptions extends OpsDeps, TraceDeps, SearchDeps, GeneratorDeps, MetricsDeps {
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  /** Timeouts, connection cap and TCP keepalive. Default: Tempo's server defaults, no cap. */
  readonly listener?: HttpListenerLimits;
  /** HTTPS (server.http_tls_config) with a certificate that follows the files. Default: plain HTTP. */
  readonly tls?: CertificateWatcher;
  /** Tempo's stream_over_http_enabled: Grafana's streaming gRPC (tempopb.StreamingQuerier) on this port too. Absent: off. */
  readonly streamOverHttp?: { readonly connection?: GrpcConnectionOptions };
  /** Tenant checks and access control in front of every route. Default: multitenancy as above, `a|b` allowed, no auth. */
  readonly gate?: ApiGateOptions;
  /** More routes on the same port, added before listening (distributed mode's /ring, the querier's internal endpoints). */
  readonly routes?: (app: FastifyInstance) => void;
}

/** The HTTP API on Tempo's port 3100: query endpoints, operations endpoints and /metrics. */
export async function startApiServer(opts: ApiServerOptions): Promise<{ app: FastifyInstance; port: number; close(): Promise<void> }> {
  const listener = opts.listener ?? DEFAULT_HTTP_LISTENER;
  const streaming = opts.streamOverHttp === undefined ? null : createStreamingQuerier({ ...opts, ...opts.streamOverHttp });
  const toGrpc = streaming === null ? null : (socket: Duplex): void => streaming.injectConnection(socket);
  // The node server is built by createNodeServer (the seam for TLS, and for anything that must see
  // connections before HTTP does); fastify only routes its requests. Over TLS, connections that
  // negotiate ALPN `h2` go to gRPC there.
  const app = Fastify({ logger: false, bodyLimit: 1 << 20, serverFactory: (handler) => createNodeServer(handler, listener, opts.tls ?? null, toGrpc) });
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
  opts.routes?.(app);
  // h2c: plaintext connections opening with the HTTP/2 preface go to gRPC.
  if (toGrpc !== null && opts.tls === undefined) shareWithGrpc(app.server, toGrpc, listener.idleTimeoutMs);
  await app.listen({ host: opts.host, port: opts.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
  return {
    app,
    port,
    close: async () => {
      streaming?.close();
      await app.close();
    },
  };
}
