import type { FastifyInstance } from 'fastify';
import type { ServiceGraph } from '../generator/graph-store.js';
import { OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, wantsOpenMetrics } from '../generator/exposition.js';
import { tenantOf } from './tenant.js';

// The metrics generator's two HTTP faces: its series for a Prometheus to scrape (the way out when no
// remote-write receiver exists), and rubato's own service-graph JSON for the UI and Prometheus-less users.

export interface GeneratorDeps {
  readonly multitenancy: boolean;
  /** null when the generator is not running. */
  readonly generator: {
    scrape(tenant: string | null, openMetrics: boolean): string;
    serviceGraph(tenant: string, startMs: number, endMs: number): ServiceGraph;
  } | null;
}

/** Default range of /api/service-graph: the last 15 minutes. */
const DEFAULT_RANGE_S = 15 * 60;

export function registerGeneratorRoutes(app: FastifyInstance, deps: GeneratorDeps): void {
  app.get('/metrics/generator', async (req, reply) => {
    const om = wantsOpenMetrics(req.headers.accept);
    // With multitenancy, X-Scope-OrgID picks one tenant; without it every tenant comes, labelled.
    const header = req.headers['x-scope-orgid'];
    const tenant = deps.multitenancy ? (typeof header === 'string' && header.trim() !== '' ? header.trim() : null) : tenantOf(req.headers, false);
    const body = deps.generator?.scrape(tenant, om) ?? (om ? '# EOF\n' : '');
    return reply.type(om ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE).send(body);
  });

  app.get<{ Querystring: { start?: string; end?: string } }>('/api/service-graph', async (req, reply) => {
    const tenant = tenantOf(req.headers, deps.multitenancy);
    if (tenant === null) return reply.code(401).type('text/plain').send('no org id');
    const nowS = Date.now() / 1000;
    const parse = (v: string | undefined, fallback: number): number | string => {
      if (v === undefined || v === '') return fallback;
      const n = Number(v);
      return Number.isFinite(n) && n >= 0 ? n : `want unix seconds, got ${JSON.stringify(v)}`;
    };
    const end = parse(req.query.end, nowS);
    if (typeof end === 'string') return reply.code(400).type('text/plain').send(`invalid end: ${end}`);
    const start = parse(req.query.start, end - DEFAULT_RANGE_S);
    if (typeof start === 'string') return reply.code(400).type('text/plain').send(`invalid start: ${start}`);
    if (start > end) return reply.code(400).type('text/plain').send('invalid start: start is after end');
    if (deps.generator === null) return reply.code(200).send({ start: Math.floor(start), end: Math.floor(end), nodes: [], edges: [] });
    return reply.send(deps.generator.serviceGraph(tenant, start * 1000, end * 1000));
  });
}
