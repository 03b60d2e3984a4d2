/**
 * The query frontend of distributed mode: Tempo's HTTP API on its port, each request handed to one of
 * the queriers registered in etcd, in turn, and to the next one when a querier cannot be reached — so
 * a querier dying loses no query and queries spread over however many queriers run. Splitting one
 * search into jobs per block and time (Tempo's sharding) is not done yet: a request goes to one querier.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import { registry } from '../metrics/registry.js';
import type { RingInstance } from './ring.js';

const forwarded = new Counter({
  name: 'rubato_frontend_forwarded_requests_total',
  help: 'Query API requests the frontend handed to queriers, by outcome (ok, retried, failed).',
  labelNames: ['outcome'],
  registers: [registry],
});

// Hop-by-hop headers are the connection's, not the request's.
const HOP = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'content-length']);

export interface FrontendOptions {
  /** Healthy queriers now. */
  readonly queriers: () => readonly RingInstance[];
  readonly timeoutMs: number;
  readonly logger: Logger;
}

export function registerFrontendProxy(app: FastifyInstance, opts: FrontendOptions): void {
  let next = 0;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.all('/*', async (req, reply) => {
    const queriers = opts.queriers();
    if (queriers.length === 0) return reply.code(503).type('text/plain').send('no querier is registered in the ring');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k) && typeof v === 'string') headers[k] = v;
    const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : (req.body as Buffer | undefined);
    const start = next++;
    let lastErr: unknown = null;
    for (let i = 0; i < queriers.length; i++) {
      const q = queriers[(start + i) % queriers.length]!;
      try {
        const res = await fetch(`http://${q.httpAddr}${req.url}`, {
          method: req.method,
          headers,
          ...(body !== undefined ? { body } : {}),
          signal: AbortSignal.timeout(opts.timeoutMs),
        });
        const buf = Buffer.from(await res.arrayBuffer());
        forwarded.inc({ outcome: i === 0 ? 'ok' : 'retried' });
        reply.code(res.status);
        for (const [k, v] of res.headers) if (!HOP.has(k) && k !== 'content-encoding') reply.header(k, v);
        return reply.send(buf);
      } catch (err) {
        // Only a querier that could not be reached (or timed out) is retried; its answer, even a 5xx, is passed on.
        lastErr = err;
        opts.logger.warn({ querier: q.id, err: String(err) }, 'querier unreachable; trying the next');
      }
    }
    forwarded.inc({ outcome: 'failed' });
    return reply
      .code(502)
      .type('text/plain')
      .send(`no querier answered: ${String(lastErr)}`);
  });
}
