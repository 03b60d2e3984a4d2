import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseTraceId } from '../util/trace-id.js';
import { decodeTrace } from '../otlp/trace-decode.js';
import { traceToTempoJsonV1, traceToTempoJsonV2 } from '../otlp/tempo-json.js';
import { encodeTraceByIdResponse } from '../otlp/tempo-proto.js';
import type { TimeRange } from '../querier/querier.js';
import { tenantOf } from './tenant.js';
import { querySignal } from './deadline.js';

export interface TraceDeps {
  readonly multitenancy: boolean;
  readonly findTraceById: (tenant: string, traceId: string, range: TimeRange, signal: AbortSignal) => Promise<Uint8Array | null>;
  /** Tempo's `querier.trace_by_id.query_timeout`; 0: none. */
  readonly traceByIdTimeoutMs: number;
}

const PROTOBUF = 'application/protobuf';

interface TraceRequest {
  Params: { traceId: string };
  Querystring: { start?: string; end?: string };
}

/** Parses Tempo's optional `start`/`end` (unix seconds) into a time range, or an error message. */
export function parseTimeRange(q: { start?: string; end?: string }): TimeRange | string {
  const out: { startMs?: number; endMs?: number } = {};
  for (const key of ['start', 'end'] as const) {
    const v = q[key];
    if (v === undefined || v === '') continue;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) return `invalid ${key}: ${v} (want unix seconds)`;
    out[key === 'start' ? 'startMs' : 'endMs'] = n * 1000;
  }
  if (out.startMs !== undefined && out.endMs !== undefined && out.startMs > out.endMs) return 'invalid start: start is after end';
  return out;
}

function wantsProtobuf(req: FastifyRequest): boolean {
  const accept = req.headers.accept;
  return accept !== undefined && accept.includes(PROTOBUF);
}

/** Trace by ID, v1 and v2, JSON or protobuf as Grafana asks. */
export function registerTraceRoutes(app: FastifyInstance, deps: TraceDeps): void {
  const lookup = async (req: FastifyRequest<TraceRequest>, reply: FastifyReply): Promise<Uint8Array | null> => {
    const tenant = tenantOf(req.headers, deps.multitenancy);
    if (tenant === null) {
      await reply.code(401).type('text/plain').send('no org id');
      return null;
    }
    const traceId = parseTraceId(req.params.traceId);
    if (traceId === null) {
      await reply.code(400).type('text/plain').send(`invalid trace id: ${req.params.traceId}: trace IDs are up to 32 hex characters`);
      return null;
    }
    const range = parseTimeRange(req.query);
    if (typeof range === 'string') {
      await reply.code(400).type('text/plain').send(range);
      return null;
    }
    const signal = querySignal(reply, deps.traceByIdTimeoutMs, 'querier.trace_by_id.query_timeout');
    const trace = await deps.findTraceById(tenant, traceId, range, signal);
    if (trace === null) {
      await reply.code(404).type('text/plain').send('trace not found');
      return null;
    }
    return trace;
  };

  app.get<TraceRequest>('/api/traces/:traceId', async (req, reply) => {
    const trace = await lookup(req, reply);
    if (trace === null) return reply;
    if (wantsProtobuf(req)) return reply.type(PROTOBUF).send(Buffer.from(trace.buffer, trace.byteOffset, trace.byteLength));
    return reply.type('application/json').send(JSON.stringify(traceToTempoJsonV1(decodeTrace(trace))));
  });

  app.get<TraceRequest>('/api/v2/traces/:traceId', async (req, reply) => {
    const trace = await lookup(req, reply);
    if (trace === null) return reply;
    if (wantsProtobuf(req)) return reply.type(PROTOBUF).send(Buffer.from(encodeTraceByIdResponse(trace)));
    return reply.type('application/json').send(JSON.stringify(traceToTempoJsonV2(decodeTrace(trace))));
  });
}
