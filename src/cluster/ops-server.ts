/**
 * The HTTP server of the targets without the query API (distributor, ingester, compactor,
 * metrics-generator, and the query frontend's own routes): Kubernetes probes, /metrics, /status and
 * the /ring page, on server.http_listen_port as every Tempo target has.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { registerOpsRoutes, type OpsDeps } from '../api/ops-routes.js';
import { type ApiGateOptions, installApiGate } from '../auth/api-gate.js';
import type { CertificateWatcher } from '../tls/certificate-watcher.js';
import { createNodeServer } from '../tls/http-server.js';
import { applyListenerLimits, fastifyTimeouts, type HttpListenerLimits } from '../util/http-listener.js';
import { isHealthy, type RingView } from './ring.js';

export interface OpsServerOptions extends OpsDeps {
  readonly host: string;
  readonly port: number;
  readonly listener: HttpListenerLimits;
  /** Rings shown on /ring, by name. */
  readonly rings: () => Record<string, RingView>;
  readonly heartbeatTimeoutMs: number;
  /** More routes (the frontend's proxy), added before listening. */
  readonly extra?: (app: FastifyInstance) => void;
  /** HTTPS (server.http_tls_config) with a certificate that follows the files. Default: plain HTTP. */
  readonly tls?: CertificateWatcher;
  /** Access control and tenant checks, as on the API port (probes and /flush stay open). Default: none. */
  readonly gate?: ApiGateOptions;
}

/** /ring as JSON (Accept: application/json) or as a plain table, like Tempo's ring status page. */
export function ringStatus(rings: Record<string, RingView>, heartbeatTimeoutMs: number, json: boolean): string {
  const now = Date.now();
  const rows = Object.entries(rings).flatMap(([ring, view]) =>
    view.instances.map((i) => ({
      ring,
      id: i.id,
      state: i.state,
      address: i.addr,
      httpAddress: i.httpAddr,
      healthy: isHealthy(i, now, heartbeatTimeoutMs),
      heartbeatAgeMs: now - i.heartbeatMs,
      tokens: i.tokens.length,
      zone: i.zone ?? '',
    })),
  );
  if (json) return JSON.stringify({ instances: rows });
  const lines = ['ring\tid\tstate\thealthy\taddress\tzone\tlast heartbeat\ttokens'];
  for (const r of rows)
    lines.push(
      `${r.ring}\t${r.id}\t${r.state}\t${r.healthy ? 'yes' : 'no'}\t${r.address}\t${r.zone}\t${(r.heartbeatAgeMs / 1000).toFixed(1)}s ago\t${r.tokens}`,
    );
  return `${lines.join('\n')}\n`;
}

/** GET /ring on `app` (the ops server, or a query frontend's API server). */
export function registerRingRoute(app: FastifyInstance, rings: () => Record<string, RingView>, heartbeatTimeoutMs: number): void {
  app.get('/ring', async (req, reply) => {
    const json = (req.headers.accept ?? '').includes('application/json');
    return reply.type(json ? 'application/json' : 'text/plain; charset=utf-8').send(ringStatus(rings(), heartbeatTimeoutMs, json));
  });
}

export async function startOpsServer(opts: OpsServerOptions): Promise<{ port: number; close(): Promise<void> }> {
  const app =
    opts.tls === undefined
      ? Fastify({ logger: false, bodyLimit: 1 << 20, ...fastifyTimeouts(opts.listener) })
      : Fastify({ logger: false, bodyLimit: 1 << 20, serverFactory: (handler) => createNodeServer(handler, opts.listener, opts.tls ?? null) });
  applyListenerLimits(app.server, opts.listener);
  if (opts.gate !== undefined) installApiGate(app, opts.gate);
  registerOpsRoutes(app, opts);
  registerRingRoute(app, opts.rings, opts.heartbeatTimeoutMs);
  opts.extra?.(app);
  await app.listen({ host: opts.host, port: opts.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
  return { port, close: () => app.close() };
}
