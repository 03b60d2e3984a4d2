/**
 * The generator's own metrics on /metrics: Tempo's `tempo_metrics_generator_*` names where Tempo has
 * one, and rubato's remote-write queue metrics (Tempo's WAL-based queue has no equivalent).
 */
import { Counter, Gauge } from 'prom-client';
import { registry } from '../metrics/registry.js';

const tenant = ['tenant'] as const;
const url = ['url'] as const;

export const generatorMetrics = {
  spansReceived: new Counter({
    name: 'tempo_metrics_generator_spans_received_total',
    help: 'The total number of spans received per tenant',
    labelNames: tenant,
    registers: [registry],
  }),
  bytesReceived: new Counter({
    name: 'tempo_metrics_generator_bytes_received_total',
    help: 'The total number of proto bytes received per tenant',
    labelNames: tenant,
    registers: [registry],
  }),
  spansDiscarded: new Counter({
    name: 'tempo_metrics_generator_spans_discarded_total',
    help: 'The total number of discarded spans received per tenant',
    labelNames: ['tenant', 'reason'] as const,
    registers: [registry],
  }),
  activeSeries: new Gauge({
    name: 'tempo_metrics_generator_registry_active_series',
    help: 'The active series per tenant',
    labelNames: tenant,
    registers: [registry],
  }),
  maxActiveSeries: new Gauge({
    name: 'tempo_metrics_generator_registry_max_active_series',
    help: 'The maximum active series per tenant',
    labelNames: tenant,
    registers: [registry],
  }),
  seriesAdded: new Counter({
    name: 'tempo_metrics_generator_registry_series_added_total',
    help: 'The total amount of series created per tenant',
    labelNames: tenant,
    registers: [registry],
  }),
  seriesRemoved: new Counter({
    name: 'tempo_metrics_generator_registry_series_removed_total',
    help: 'The total amount of series removed after they have become stale per tenant',
    labelNames: tenant,
    registers: [registry],
  }),
  seriesLimited: new Counter({
    name: 'tempo_metrics_generator_registry_series_limited_total',
    help: 'The total amount of series not created because of limits per tenant',
    labelNames: tenant,
    registers: [registry],
  }),
  collections: new Counter({
    name: 'tempo_metrics_generator_registry_collections_total',
    help: 'The total amount of metrics collections per tenant',
    labelNames: tenant,
    registers: [registry],
  }),
  collectionsFailed: new Counter({
    name: 'tempo_metrics_generator_registry_collections_failed_total',
    help: 'The total amount of failed metrics collections per tenant',
    labelNames: tenant,
    registers: [registry],
  }),
  expiredEdges: new Counter({
    name: 'tempo_metrics_generator_processor_service_graphs_expired_edges',
    help: 'Number of edges that expired before finding their matching span',
    labelNames: tenant,
    registers: [registry],
  }),
  pushErrors: new Counter({
    name: 'tempo_metrics_generator_push_errors_total',
    help: 'Batches the generator could not process (the push itself was not affected)',
    labelNames: tenant,
    registers: [registry],
  }),
  queueBytes: new Gauge({
    name: 'tempo_metrics_generator_remote_write_queue_bytes',
    help: 'Bytes held by the remote-write queue (rubato)',
    labelNames: url,
    registers: [registry],
  }),
  queueMaxBytes: new Gauge({
    name: 'tempo_metrics_generator_remote_write_queue_max_bytes',
    help: 'Byte budget of the remote-write queue (rubato)',
    labelNames: url,
    registers: [registry],
  }),
  samplesSent: new Counter({
    name: 'tempo_metrics_generator_remote_write_samples_sent_total',
    help: 'Samples accepted by the remote end (rubato)',
    labelNames: url,
    registers: [registry],
  }),
  exemplarsSent: new Counter({
    name: 'tempo_metrics_generator_remote_write_exemplars_sent_total',
    help: 'Exemplars accepted by the remote end (rubato)',
    labelNames: url,
    registers: [registry],
  }),
  samplesDropped: new Counter({
    name: 'tempo_metrics_generator_remote_write_samples_dropped_total',
    help: 'Samples dropped: queue_full (remote end down or slow) or rejected by it (rubato)',
    labelNames: ['url', 'reason'] as const,
    registers: [registry],
  }),
  exemplarsDropped: new Counter({
    name: 'tempo_metrics_generator_remote_write_exemplars_dropped_total',
    help: 'Exemplars dropped with their samples (rubato)',
    labelNames: ['url', 'reason'] as const,
    registers: [registry],
  }),
  requestsFailed: new Counter({
    name: 'tempo_metrics_generator_remote_write_requests_failed_total',
    help: 'Remote-write requests that failed (retried or dropped) (rubato)',
    labelNames: url,
    registers: [registry],
  }),
};
