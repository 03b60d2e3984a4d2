import { z } from 'zod';
import { LOG_LEVELS } from '../util/logger.js';
import { DEFAULTS as D, STORAGE_BACKENDS, TARGETS } from './defaults.js';
import { bool, bytes, duration, int, num, oneOf, section, secret, str } from './fields.js';

// rubato's configuration, in Tempo's YAML layout. Durations are written as Go strings ("10s") and
// held as milliseconds; sizes are written as numbers or "500MB" and held as bytes. Each section lists
// the Tempo keys it accepts without using them: those are reported in one warning at start, never an
// error, so a Tempo config file works unchanged. Keys neither typed nor listed are reported as unknown.

export { TARGETS, STORAGE_BACKENDS, IMPLEMENTED_STORAGE_BACKENDS, type Target } from './defaults.js';
export { ConfigError } from './errors.js';

const TLS_CLIENT_KEYS = [
  'tls_enabled', 'tls_cert_path', 'tls_key_path', 'tls_ca_path', 'tls_server_name',
  'tls_insecure_skip_verify', 'tls_cipher_suites', 'tls_min_version',
] as const;

// ---------------------------------------------------------------------------------------------- server

const serverSchema = section(
  {
    /** default "0.0.0.0" (Tempo: "" = all interfaces, which rubato also accepts) */
    http_listen_address: str(D.server.httpListenAddress),
    /** default 3100 (the users' deployment; Tempo's own default is 3200) */
    http_listen_port: int(D.server.httpListenPort, 0, 65535),
    /** default "" (all interfaces); accepted, no gRPC query API yet */
    grpc_listen_address: str(D.server.grpcListenAddress),
    /** default 9095; accepted, no gRPC query API yet */
    grpc_listen_port: int(D.server.grpcListenPort, 0, 65535),
    /** default "info"; one of debug, info, warn, error */
    log_level: oneOf(LOG_LEVELS, D.server.logLevel),
    /** default "logfmt"; or "json" */
    log_format: oneOf(['logfmt', 'json'], D.server.logFormat),
    /** default 30s */
    http_server_read_timeout: duration(D.server.httpServerReadTimeout),
    /** default 30s */
    http_server_write_timeout: duration(D.server.httpServerWriteTimeout),
    /** default 2m */
    http_server_idle_timeout: duration(D.server.httpServerIdleTimeout),
    /** default 30s: how long shutdown waits for in-flight requests */
    graceful_shutdown_timeout: duration(D.server.gracefulShutdownTimeout),
    /** default 16MiB */
    grpc_server_max_recv_msg_size: bytes(D.server.grpcServerMaxRecvMsgSize),
    /** default 16MiB */
    grpc_server_max_send_msg_size: bytes(D.server.grpcServerMaxSendMsgSize),
  },
  [
    'http_listen_network', 'http_listen_conn_limit', 'grpc_listen_network', 'grpc_listen_conn_limit',
    'grpc_collect_max_streams_by_conn', 'proxy_protocol_enabled', 'tls_cipher_suites', 'tls_min_version',
    'http_tls_config', 'grpc_tls_config', 'register_instrumentation',
    'report_grpc_codes_in_instrumentation_label_enabled', 'http_server_read_header_timeout',
    'http_log_closed_connections_without_response_enabled', 'grpc_server_max_concurrent_streams',
    'grpc_server_max_connection_idle', 'grpc_server_max_connection_age', 'grpc_server_max_connection_age_grace',
    'grpc_server_keepalive_time', 'grpc_server_keepalive_timeout', 'grpc_server_min_time_between_pings',
    'grpc_server_ping_without_stream_allowed', 'grpc_server_num_workers', 'grpc_server_stats_tracking_enabled',
    'grpc_server_recv_buffer_pools_enabled', 'log_source_ips_enabled', 'log_source_ips_full',
    'log_source_ips_header', 'log_source_ips_regex', 'log_request_headers', 'log_request_at_info_level_enabled',
    'log_request_exclude_headers_list', 'trace_request_headers', 'trace_request_exclude_headers_list',
    'http_path_prefix', 'cluster_validation',
  ],
);

// ----------------------------------------------------------------------------------------- distributor

const otlpGrpcSchema = section(
  {
    /** default "0.0.0.0:4317" */
    endpoint: str(D.distributor.otlpGrpcEndpoint),
    /** default 4 (the OpenTelemetry Collector's): largest accepted request, in MiB */
    max_recv_msg_size_mib: int(D.distributor.otlpGrpcMaxRecvMsgSizeMib, 1),
  },
  ['transport', 'tls', 'keepalive', 'max_concurrent_streams', 'read_buffer_size', 'write_buffer_size', 'include_metadata', 'auth'],
);

const otlpHttpSchema = section(
  {
    /** default "0.0.0.0:4318" */
    endpoint: str(D.distributor.otlpHttpEndpoint),
  },
  ['tls', 'cors', 'include_metadata', 'auth', 'max_request_body_size', 'traces_url_path', 'metrics_url_path', 'logs_url_path', 'response_headers', 'compression_algorithms'],
);

export type OtlpGrpcConfig = z.output<typeof otlpGrpcSchema>;
export type OtlpHttpConfig = z.output<typeof otlpHttpSchema>;

/** Which OTLP protocols listen; null means that protocol is off. */
export interface ReceiversConfig {
  otlp: { protocols: { grpc: OtlpGrpcConfig | null; http: OtlpHttpConfig | null } };
}

const receiversSchema = section(
  {
    otlp: section({
      protocols: section({ grpc: otlpGrpcSchema.optional(), http: otlpHttpSchema.optional() }).optional(),
    }).optional(),
  },
  ['jaeger', 'zipkin', 'opencensus', 'kafka'],
)
  .optional()
  .transform((r, ctx): ReceiversConfig => {
    // No receivers key at all: rubato's default is both OTLP protocols. Once the key is given, only
    // what it lists listens, as in Tempo (whose receivers block is the Collector's).
    if (r === undefined) {
      return { otlp: { protocols: { grpc: otlpGrpcSchema.parse({}), http: otlpHttpSchema.parse({}) } } };
    }
    if (r.otlp === undefined) return { otlp: { protocols: { grpc: null, http: null } } };
    const p = r.otlp.protocols;
    if (p === undefined || (p.grpc === undefined && p.http === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'expected at least one of grpc, http under otlp.protocols', path: ['otlp', 'protocols'] });
      return z.NEVER;
    }
    return { otlp: { protocols: { grpc: p.grpc ?? null, http: p.http ?? null } } };
  });

const distributorSchema = section(
  {
    /** default: OTLP gRPC on 0.0.0.0:4317 and OTLP HTTP on 0.0.0.0:4318 */
    receivers: receiversSchema,
    /** default 2048: longer attribute values are truncated; 0 = no limit */
    max_attribute_bytes: int(D.distributor.maxAttributeBytes),
  },
  [
    'ring', 'override_ring_key', 'forwarders', 'usage', 'ingester_write_path_enabled', 'kafka_write_path_enabled',
    'kafka_config', 'extend_writes', 'retry_after_on_resource_exhausted', 'log_received_spans',
    'log_received_traces', 'log_discarded_spans', 'metric_received_spans', 'search_tags_deny_list',
  ],
);

// -------------------------------------------------------------------------------------------- ingester

const ingesterSchema = section(
  {
    /** default 10s: a trace with no new spans for this long leaves memory for the head block */
    trace_idle_period: duration(D.ingester.traceIdlePeriod),
    /** default 30s: a trace still receiving spans is cut to the head block after this long */
    trace_live_period: duration(D.ingester.traceLivePeriod),
    /** default 30m: the head block is cut after this long */
    max_block_duration: duration(D.ingester.maxBlockDuration),
    /** default 500MB (524288000): the head block is cut at this size */
    max_block_bytes: bytes(D.ingester.maxBlockBytes),
    /** default 15m: a flushed block stays queryable from the ingester this long */
    complete_block_timeout: duration(D.ingester.completeBlockTimeout),
    /** default 10s: how often idle traces and full blocks are checked */
    flush_check_period: duration(D.ingester.flushCheckPeriod),
    /** default 5m: a single block flush gives up after this long */
    flush_op_timeout: duration(D.ingester.flushOpTimeout),
    /** default 4 */
    concurrent_flushes: int(D.ingester.concurrentFlushes, 1),
    /** default false: flush all data to the backend on shutdown (the WAL keeps it otherwise) */
    flush_all_on_shutdown: bool(false),
    /** default 64MiB (rubato extension): memory budget for live traces; beyond it they are cut early */
    max_live_traces_bytes: bytes(D.ingester.maxLiveTracesBytes),
  },
  ['lifecycler', 'partition_ring', 'override_ring_key', 'flush_object_storage', 'autocomplete_filtering_enabled', 'dedicated_columns'],
);

// --------------------------------------------------------------------------------- querier / frontend

const querierSchema = section(
  {
    search: section(
      {
        /** default 30s */
        query_timeout: duration(D.querier.searchQueryTimeout),
      },
      ['prefer_self', 'external_endpoints', 'external_hedge_requests_at', 'external_hedge_requests_up_to', 'external_backend', 'google_cloud_run'],
    ).prefault({}),
    trace_by_id: section(
      {
        /** default 10s */
        query_timeout: duration(D.querier.traceByIdQueryTimeout),
      },
      ['external'],
    ).prefault({}),
    /** default 20: block reads running at once */
    max_concurrent_queries: int(D.querier.maxConcurrentQueries, 1),
  },
  [
    'metrics', 'partition_ring', 'frontend_worker', 'shuffle_sharding_ingesters_enabled',
    'shuffle_sharding_ingesters_lookback_period', 'query_relevant_ingesters', 'secondary_ingester_ring',
  ],
);

const queryFrontendSchema = section(
  {
    /** default 2000 */
    max_outstanding_per_tenant: int(D.queryFrontend.maxOutstandingPerTenant),
    /** default 2 */
    max_retries: int(D.queryFrontend.maxRetries),
    search: section(
      {
        /** default 1000 */
        concurrent_jobs: int(D.queryFrontend.searchConcurrentJobs, 1),
        /** default 100MiB */
        target_bytes_per_job: bytes(D.queryFrontend.searchTargetBytesPerJob),
        /** default 20 */
        default_result_limit: int(D.queryFrontend.searchDefaultResultLimit, 1),
        /** default 0 (no limit) */
        max_result_limit: int(D.queryFrontend.searchMaxResultLimit),
        /** default 168h; 0 = no limit */
        max_duration: duration(D.queryFrontend.searchMaxDuration),
        /** default 15m: more recent data is read from ingesters only */
        query_backend_after: duration(D.queryFrontend.searchQueryBackendAfter),
        /** default 30m */
        query_ingesters_until: duration(D.queryFrontend.searchQueryIngestersUntil),
        /** default 3 */
        default_spans_per_span_set: int(D.queryFrontend.searchDefaultSpansPerSpanSet),
        /** default 100 */
        max_spans_per_span_set: int(D.queryFrontend.searchMaxSpansPerSpanSet),
        /**
         * rubato's own; default 16MiB: a search stops collecting results once its answer would be
         * about this big, whatever `limit` asks (0 = no bound)
         */
        max_response_bytes: bytes(D.queryFrontend.searchMaxResponseBytes),
        /** default 0s (off): searches faster than this count toward the SLO metric */
        duration_slo: duration(0),
        /** default 0 (off) */
        throughput_bytes_slo: num(0),
      },
      ['ingester_shards', 'most_recent_shards', 'hedge_requests_at', 'hedge_requests_up_to'],
    ).prefault({}),
    trace_by_id: section(
      {
        /** default 50 */
        query_shards: int(D.queryFrontend.traceByIdQueryShards, 1),
        /** default 0s (off) */
        duration_slo: duration(0),
      },
      ['hedge_requests_at', 'hedge_requests_up_to', 'concurrent_shards'],
    ).prefault({}),
    metrics: section(
      {
        /** default 24h */
        max_duration: duration(D.queryFrontend.metricsMaxDuration),
        /** default 30m */
        query_backend_after: duration(D.queryFrontend.metricsQueryBackendAfter),
        /** default 5m */
        interval: duration(D.queryFrontend.metricsInterval),
        /** default 100 */
        max_exemplars: int(D.queryFrontend.metricsMaxExemplars),
        /** default 0s (off) */
        duration_slo: duration(0),
        /** default 0 (off) */
        throughput_bytes_slo: num(0),
      },
      ['concurrent_jobs', 'target_bytes_per_job', 'streaming_shards', 'max_intervals', 'exemplars', 'max_response_series'],
    ).prefault({}),
  },
  [
    'max_batch_size', 'log_query_request_headers', 'multi_tenant_queries_enabled', 'response_consumers',
    'weights', 'mcp_server', 'max_query_expression_size_bytes', 'rf1_after', 'api_timeout',
  ],
);

// ------------------------------------------------------------------------------------------- compactor

const compactorSchema = section(
  {
    compaction: section(
      {
        /** default 72h (the users' deployment; Tempo's own default is 336h): blocks older than this are deleted */
        block_retention: duration(D.compactor.blockRetention),
        /** default 1h: compacted inputs are kept this long so running queries can finish */
        compacted_block_retention: duration(D.compactor.compactedBlockRetention),
        /** default 1h: only blocks within one such window are merged together */
        compaction_window: duration(D.compactor.compactionWindow),
        /** default 6000000: most traces in one compacted block */
        max_compaction_objects: int(D.compactor.maxCompactionObjects, 1),
        /** default 100GiB: largest compacted block */
        max_block_bytes: bytes(D.compactor.maxBlockBytes),
        /** default 30s (rubato: how often the compactor runs) */
        compaction_cycle: duration(D.compactor.compactionCycle),
        /** default 10 */
        retention_concurrency: int(D.compactor.retentionConcurrency, 1),
        /** default 5m */
        max_time_per_tenant: duration(D.compactor.maxTimePerTenant),
      },
      [
        'chunk_size_bytes', 'flush_size_bytes', 'iterator_buffer_size', 'max_compaction_range',
        'v2_in_buffer_bytes', 'v2_out_buffer_bytes', 'v2_prefetch_traces_count',
      ],
    ).prefault({}),
  },
  ['ring', 'disabled', 'override_ring_key'],
);

// --------------------------------------------------------------------------------------------- storage

const s3Schema = section(
  {
    /** default "" */
    bucket: str(''),
    /** default "": key prefix inside the bucket */
    prefix: str(''),
    /** default "" */
    endpoint: str(''),
    /** default "" */
    region: str(''),
    /** default "" */
    access_key: str(''),
    /** default "" (never shown by /status/config) */
    secret_key: secret(''),
    /** default "" (never shown by /status/config) */
    session_token: secret(''),
    /** default false: plain HTTP */
    insecure: bool(false),
    /** default false: path-style bucket addressing (MinIO) */
    forcepathstyle: bool(false),
    /**
     * default 1GiB (rubato extension): bound on the local disk used to cache the parts of blocks that
     * queries have fetched (footers and column chunks); least recently used blocks are evicted
     */
    cache_bytes: bytes(D.storage.s3CacheBytes),
    /** default "" (rubato extension): folder for that cache; "" is a folder in the OS temp folder */
    cache_path: str(''),
  },
  [
    ...TLS_CLIENT_KEYS, 'part_size', 'hedge_requests_at', 'hedge_requests_up_to', 'signature_v2',
    'enable_dual_stack', 'bucket_lookup_type', 'tags', 'storage_class', 'metadata', 'native_aws_auth_enabled',
    'list_blocks_concurrency', 'sse',
  ],
);

const traceStorageSchema = section(
  {
    /** default "local"; one of local, s3, gcs, azure (gcs and azure are not implemented yet) */
    backend: oneOf(STORAGE_BACKENDS, D.storage.backend),
    local: section({
      /** default "./data/traces" (Tempo's charts use /var/tempo/traces) */
      path: str(D.storage.localPath),
    }).prefault({}),
    wal: section(
      {
        /** default "./data/wal" (Tempo's charts use /var/tempo/wal) */
        path: str(D.storage.walPath),
      },
      ['ingestion_time_range_slack', 'encoding', 'search_encoding', 'version', 'v2_encoding', 'completedfilepath', 'blocksfilepath'],
    ).prefault({}),
    block: section(
      {
        /** default 0.01 */
        bloom_filter_false_positive: num(D.storage.bloomFilterFalsePositive, 0, 1),
        /** default 100000000 */
        parquet_row_group_size_bytes: bytes(D.storage.parquetRowGroupSizeBytes),
      },
      [
        'bloom_filter_shard_size_bytes', 'version', 'parquet_dedicated_columns', 'encoding', 'search_encoding',
        'search_page_size_bytes', 'row_group_size_bytes', 'index_downsample_bytes', 'index_page_size_bytes',
        'v2_encoding', 'v2_index_downsample_bytes', 'v2_index_page_size_bytes',
      ],
    ).prefault({}),
    s3: s3Schema.prefault({}),
    /** default 5m: how often other processes' new blocks are discovered */
    blocklist_poll: duration(D.storage.blocklistPoll),
  },
  [
    'pool', 'search', 'gcs', 'azure', 'cache', 'background_cache', 'memcached', 'redis',
    'cache_min_compaction_level', 'cache_max_block_age', 'blocklist_poll_concurrency',
    'blocklist_poll_tenant_concurrency', 'blocklist_poll_fallback', 'blocklist_poll_tenant_index_builders',
    'blocklist_poll_stale_tenant_index', 'blocklist_poll_jitter_ms', 'blocklist_poll_tolerate_consecutive_errors',
    'blocklist_poll_tolerate_tenant_failures', 'empty_tenant_deletion_enabled', 'empty_tenant_deletion_age',
  ],
);

const storageSchema = section({ trace: traceStorageSchema.prefault({}) });

// ------------------------------------------------------------------------------------------- overrides

/** Limits for one tenant, in Tempo's (2.3+) nested overrides layout. */
export const tenantLimitsSchema = section(
  {
    ingestion: section(
      {
        /** default "local": limits apply per distributor ("global" divides them among distributors) */
        rate_strategy: oneOf(['local', 'global'], D.overrides.rateStrategy),
        /** default 15000000: sustained bytes per second */
        rate_limit_bytes: bytes(D.overrides.rateLimitBytes),
        /** default 20000000: burst bytes */
        burst_size_bytes: bytes(D.overrides.burstSizeBytes),
        /** default 10000: live traces per tenant in an ingester; 0 = no limit */
        max_traces_per_user: int(D.overrides.maxTracesPerUser),
        /** default 0 (no limit) */
        max_global_traces_per_user: int(D.overrides.maxGlobalTracesPerUser),
      },
      ['tenant_shard_size', 'retry_info_enabled', 'artificial_delay'],
    ).prefault({}),
    read: section(
      {
        /** default 1000000: largest tag-values answer */
        max_bytes_per_tag_values_query: bytes(D.overrides.maxBytesPerTagValuesQuery),
        /** default 0 (no limit) */
        max_blocks_per_tag_values_query: int(0),
        /** default 0s: 0 = use query_frontend.search.max_duration */
        max_search_duration: duration(0),
        /** default 0s: 0 = use query_frontend.metrics.max_duration */
        max_metrics_duration: duration(0),
      },
      ['unsafe_query_hints', 'left_pad_trace_ids'],
    ).prefault({}),
    global: section({
      /** default 5000000: larger traces are refused */
      max_bytes_per_trace: bytes(D.overrides.maxBytesPerTrace),
    }).prefault({}),
    compaction: section(
      {
        /** default 0s: 0 = use compactor.compaction.block_retention */
        block_retention: duration(0),
        /** default false */
        compaction_disabled: bool(false),
      },
      ['compaction_window'],
    ).prefault({}),
  },
  ['metrics_generator', 'forwarders', 'storage', 'cost_attribution'],
);

export type TenantLimits = z.output<typeof tenantLimitsSchema>;

const overridesSchema = section(
  {
    /** defaults for every tenant (the legacy flat layout is converted into this) */
    defaults: tenantLimitsSchema.prefault({}),
    /** default "": YAML file with per-tenant overrides; a missing file is a warning */
    per_tenant_override_config: str(''),
    /** default 10s: how often that file is re-read */
    per_tenant_override_period: duration(D.overrides.perTenantOverridePeriod),
  },
  ['user_configurable_overrides'],
);

// ------------------------------------------------------------------------------------------------ root

export const rubatoConfigSchema = section(
  {
    /** default "all"; or distributor, ingester, querier, query-frontend, compactor, metrics-generator */
    target: oneOf(TARGETS, D.target),
    /** default false: tenant from X-Scope-OrgID when true, "single-tenant" otherwise */
    multitenancy_enabled: bool(D.multitenancyEnabled),
    /** default false: Tempo's streaming gRPC-over-HTTP search for Grafana */
    stream_over_http_enabled: bool(false),
    server: serverSchema.prefault({}),
    distributor: distributorSchema.prefault({}),
    ingester: ingesterSchema.prefault({}),
    querier: querierSchema.prefault({}),
    query_frontend: queryFrontendSchema.prefault({}),
    compactor: compactorSchema.prefault({}),
    storage: storageSchema.prefault({}),
    overrides: overridesSchema.prefault({}),
  },
  [
    'http_api_prefix', 'internal_server', 'ingester_client', 'metrics_generator_client', 'live_store_client',
    'metrics_generator', 'memberlist', 'usage_report', 'cache', 'backend_scheduler', 'backend_scheduler_client',
    'backend_worker', 'block_builder', 'ingest', 'live_store', 'partition_ring_live_store', 'use_otel_tracer',
    'autocomplete_filtering_enabled', 'enable_go_runtime_metrics', 'shutdown_delay', 'querier_client',
  ],
);

/** The config as the schema yields it: what the file says, defaults for the rest. */
export type ParsedConfig = z.output<typeof rubatoConfigSchema>;

/** The effective rubato configuration. */
export type RubatoConfig = Omit<ParsedConfig, 'overrides'> & {
  overrides: ParsedConfig['overrides'] & {
    /** Per-tenant limits from per_tenant_override_config, each merged over `defaults` (not a Tempo key). */
    per_tenant: Record<string, TenantLimits>;
  };
};
