/** The receivers' own metrics: refusals before a push (no spans are known yet, so not in tempo_discarded_spans_total). */
import { Counter, Gauge } from 'prom-client';
import { registry } from '../metrics/registry.js';

export const refusedRequests = new Counter({
  name: 'rubato_receiver_refused_requests_total',
  help: 'OTLP requests refused before their body was read or decoded, by transport and reason (inflight_bytes: the in-flight byte budget was spent; too_large: over the size limit).',
  labelNames: ['transport', 'reason'] as const,
  registers: [registry],
});

export const inflightBytes = new Gauge({
  name: 'rubato_receiver_inflight_bytes',
  help: 'Request bytes (compressed and decompressed) the OTLP receivers hold right now; bounded by distributor.max_inflight_bytes.',
  registers: [registry],
});
