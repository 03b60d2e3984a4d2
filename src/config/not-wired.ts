/**
 * Tempo keys rubato types and validates (a wrong type still fails start-up with its dotted name) but
 * does not act on yet. Setting one is reported in the start-up warning, like the keys a section
 * accepts without typing. config/keys-used.test.ts keeps this list honest: every typed key is either
 * read by the product code or listed here, and nothing listed here is read.
 */
export const TYPED_NOT_WIRED: readonly string[] = [
  // The ingester cuts and flushes on its own schedule (see ingester.ts); one build at a time.
  'ingester.trace_live_period',
  'ingester.flush_check_period',
  'ingester.concurrent_flushes',
  // The query frontend's queue, trace-by-ID sharding and SLO metrics (its search and metrics jobs are wired in cluster/frontend.ts).
  'querier.max_concurrent_queries',
  'query_frontend.max_outstanding_per_tenant',
  'query_frontend.search.duration_slo',
  'query_frontend.search.throughput_bytes_slo',
  'query_frontend.trace_by_id.query_shards',
  'query_frontend.trace_by_id.duration_slo',
  'query_frontend.metrics.duration_slo',
  'query_frontend.metrics.throughput_bytes_slo',
  'compactor.compaction.max_compaction_objects',
  'compactor.compaction.retention_concurrency',
  'compactor.compaction.max_time_per_tenant',
  // Row groups are sized in rows (see block/writer.ts).
  'storage.trace.block.parquet_row_group_size_bytes',
  'overrides.defaults.ingestion.max_global_traces_per_user',
  'overrides.defaults.read.max_blocks_per_tag_values_query',
  'overrides.defaults.read.max_metrics_duration',
];

/** The listed keys present in the raw config data (dotted paths). */
export function notWiredKeysSet(raw: Record<string, unknown>): string[] {
  return TYPED_NOT_WIRED.filter((path) => {
    let v: unknown = raw;
    for (const part of path.split('.')) {
      if (v === null || typeof v !== 'object' || !(part in v)) return false;
      v = (v as Record<string, unknown>)[part];
    }
    return v !== undefined && v !== null;
  });
}
