import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../metrics/registry.js';

export const tracesCreated = new Counter({
  name: 'tempo_ingester_traces_created_total',
  help: 'The total number of traces created per tenant.',
  labelNames: ['tenant'] as const,
  registers: [registry],
});

export const blocksFlushed = new Counter({
  name: 'tempo_ingester_blocks_flushed_total',
  help: 'The total number of blocks flushed.',
  labelNames: ['tenant'] as const,
  registers: [registry],
});

export const failedFlushes = new Counter({
  name: 'tempo_ingester_failed_flushes_total',
  help: 'The total number of failed block flushes.',
  labelNames: ['tenant'] as const,
  registers: [registry],
});

export const flushDuration = new Histogram({
  name: 'tempo_ingester_flush_duration_seconds',
  help: 'Time spent writing a head block to the backend.',
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  registers: [registry],
});

export const flushedBytes = new Counter({
  name: 'tempo_ingester_flush_size_bytes_total',
  help: 'Bytes of Parquet data written by head block flushes.',
  registers: [registry],
});

export const liveTracesGauge = new Gauge({
  name: 'tempo_ingester_live_traces',
  help: 'The current number of live traces per tenant.',
  labelNames: ['tenant'] as const,
  registers: [registry],
});

export const liveTraceBytes = new Gauge({
  name: 'tempo_ingester_trace_index_bytes',
  help: 'Estimated memory of the per-trace index of head blocks (bounded by ingester.max_live_traces_bytes).',
  registers: [registry],
});

export const bytesReceived = new Counter({
  name: 'tempo_ingester_bytes_received_total',
  help: 'The total bytes received per tenant.',
  labelNames: ['tenant', 'data_type'] as const,
  registers: [registry],
});

export const headBlockBytes = new Gauge({
  name: 'tempo_ingester_head_block_bytes',
  help: 'Bytes of completed traces waiting in head blocks.',
  registers: [registry],
});

export const walBytes = new Gauge({
  name: 'tempo_ingester_wal_bytes',
  help: 'Bytes of WAL segments on disk.',
  registers: [registry],
});

export const walSegments = new Gauge({
  name: 'tempo_ingester_wal_segments',
  help: 'WAL segments on disk.',
  registers: [registry],
});

export const walReplayed = new Counter({
  name: 'tempo_ingester_wal_replayed_records_total',
  help: 'WAL records replayed at start.',
  registers: [registry],
});

export const walCorrupt = new Counter({
  name: 'tempo_ingester_wal_truncated_bytes_total',
  help: 'Bytes cut off torn or corrupt WAL tails at replay.',
  registers: [registry],
});

/**
 * Tempo's own replay error counter (its mixin alerts on any increase: TempoIngesterReplayErrors).
 * Counts records lost at replay: undecodable records under their tenant, and damaged stretches
 * skipped mid-segment under tenant "" (their tenant cannot be read). A torn tail is not an error:
 * a crash mid-write leaves one and it holds nothing that was acknowledged.
 */
export const replayErrors = new Counter({
  name: 'tempo_ingester_replay_errors_total',
  help: 'The total number of replay errors received per tenant.',
  labelNames: ['tenant'] as const,
  registers: [registry],
});

export const walSkipped = new Counter({
  name: 'tempo_ingester_wal_corrupt_records_skipped_total',
  help: 'Damaged stretches in the middle of WAL segments skipped at replay (each held at least one record); replay resumed at the next valid record.',
  registers: [registry],
});

export const walSkippedBytes = new Counter({
  name: 'tempo_ingester_wal_corrupt_skipped_bytes_total',
  help: 'Bytes of damaged WAL records skipped at replay.',
  registers: [registry],
});

export const budgetCuts = new Counter({
  name: 'tempo_ingester_head_block_budget_cuts_total',
  help: 'Head blocks cut early because the per-trace memory budget (ingester.max_live_traces_bytes) was full.',
  registers: [registry],
});

export const backpressure = new Counter({
  name: 'tempo_ingester_push_backpressure_total',
  help: 'Pushes refused because head blocks were waiting for the block builder.',
  registers: [registry],
});
