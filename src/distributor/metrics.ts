import { Counter } from 'prom-client';
import { registry } from '../metrics/registry.js';

export const spansReceived = new Counter({
  name: 'tempo_distributor_spans_received_total',
  help: 'The total number of spans received per tenant.',
  labelNames: ['tenant'] as const,
  registers: [registry],
});

export const bytesReceived = new Counter({
  name: 'tempo_distributor_bytes_received_total',
  help: 'The total number of proto bytes received per tenant.',
  labelNames: ['tenant'] as const,
  registers: [registry],
});

export const tracesPerBatch = new Counter({
  name: 'tempo_distributor_push_requests_total',
  help: 'Push requests received per tenant.',
  labelNames: ['tenant'] as const,
  registers: [registry],
});

/** Tempo's discard counter: every span refused after it reached us, by reason. */
export const discardedSpans = new Counter({
  name: 'tempo_discarded_spans_total',
  help: 'The total number of samples that were discarded.',
  labelNames: ['reason', 'tenant'] as const,
  registers: [registry],
});

/** Tempo's: attribute keys and values cut to distributor.max_attribute_bytes, by where they sat. */
export const attributesTruncated = new Counter({
  name: 'tempo_distributor_attributes_truncated_total',
  help: 'The total number of attribute keys or values truncated per tenant and scope',
  labelNames: ['tenant', 'scope'] as const,
  registers: [registry],
});
