/**
 * TraceQL metrics endpoints Grafana's Tempo data source and Traces Drilldown call:
 * /api/metrics/query_range (series over time) and /api/metrics/query (one value per series).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { MetricsAnswer, MetricsRequest } from '../querier/metrics.js';
import { querySignal } from './deadline.js';
import { encodeQueryInstant, encodeQueryRange, queryInstantJson, queryRangeJson } from './metrics-encode.js';
import { parseQueryInstantParams, parseQueryRangeParams, type MetricsLimits, type MetricsQueryString, type ParsedMetricsRequest } from './metrics-params.js';
import { BadRequest } from './search-params.js';
import { tenantOf } from './tenant.js';
import { TraceQLUnsupportedError, TraceQLValidationError } from '../traceql/index.js';

export interface MetricsDeps {
  readonly multitenancy: boolean;
  readonly metricsLimits: MetricsLimits;
  readonly metricsQuery: (tenant: string, req: MetricsRequest) => Promise<MetricsAnswer>;
  /** Deadline of a metrics query (Tempo's querier.search.query_timeout); 0: none. */
  readonly searchTimeoutMs: number;
}

const PROTOBUF = 'application/protobuf';

export function registerMetricsRoutes(app: FastifyInstance, deps: MetricsDeps): void {
  const route =
    (
      parseParams: (qs: MetricsQueryString, limits: MetricsLimits) => ParsedMetricsRequest,
      json: (a: MetricsAnswer) => unknown,
      proto: (a: MetricsAnswer) => Uint8Array,
    ) =>
    async (req: FastifyRequest<{ Querystring: MetricsQueryString }>, reply: FastifyReply): Promise<FastifyReply> => {
      const tenant = tenantOf(req.headers, deps.multitenancy);
      if (tenant === null) return reply.code(401).type('text/plain').send('no org id');
      let answer: MetricsAnswer;
      try {
        const p = parseParams(req.query, deps.metricsLimits);
        const signal = querySignal(reply, deps.searchTimeoutMs, 'querier.search.query_timeout');
        answer = await deps.metricsQuery(tenant, { ...p, signal });
      } catch (err) {
        if (err instanceof BadRequest) return reply.code(400).type('text/plain; charset=utf-8').send(err.message);
        if (err instanceof TraceQLValidationError || err instanceof TraceQLUnsupportedError) {
          return reply.code(400).type('text/plain; charset=utf-8').send(`invalid TraceQL query: ${err.message}`);
        }
        throw err;
      }
      if (req.headers.accept?.includes(PROTOBUF) === true) return reply.type(PROTOBUF).send(Buffer.from(proto(answer)));
      return reply.type('application/json').send(JSON.stringify(json(answer)));
    };

  app.get('/api/metrics/query_range', route(parseQueryRangeParams, queryRangeJson, encodeQueryRange));
  app.get('/api/metrics/query', route(parseQueryInstantParams, queryInstantJson, encodeQueryInstant));
}
