import { z } from 'zod';
import { LOG_LEVELS } from '../util/logger.js';
import { DEFAULTS as D, STORAGE_BACKENDS, TARGETS } from './defaults.js';
import { bool, bytes, duration, int, num, oneOf, section, secret, str, strList } from './fields.js';
import { tokenSpecProblem } from '../auth/token-spec.js';
import { redactionSchema } from './redaction.js';

// rubato's configuration, in Tempo's YAML layout. Durations are written as Go strings ("10s") and
// held as milliseconds; sizes are written as numbers or "500MB" and held as bytes. Each section lists
// the Tempo keys it accepts without using them: those are reported in one warning at start, never an
// error, so a Tempo config file works unchanged. Keys neither typed nor listed are reported as unknown.

export { TARGETS, STORAGE_BACKENDS, IMPLEMENTED_STORAGE_BACKENDS, type Target } from './defaults.js';
export { ConfigError } from './errors.js';

const TLS_CLIENT_KEYS = [
  'tls_enabled',
  'tls_cert_path',
  'tls_key_path',
  'tls_ca_path',
  'tls_server_name',
  'tls_insecure_skip_verify',
  'tls_cipher_suites',
  'tls_min_version',
] as const;

// ---------------------------------------------------------------------------------------------- server

/** Go's tls.ClientAuthType names, as Tempo's server.http_tls_config takes them ("" = NoClientCert). */
export const CLIENT_AUTH_TYPES = [
  '',
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;

/** Tempo's (dskit's) server TLS block. TLS is on once cert_file and key_file are both set. */
const serverTlsSchema = section(
  {
    /** default "": PEM certificate (with its chain); re-read when the file changes */
    cert_file: str(''),
    /** default "": PEM private key of cert_file */
    key_file: str(''),
    /** default "" (NoClientCert): whether clients must show a certificate, and whether it is verified against client_ca_file */
    client_auth_type: oneOf(CLIENT_AUTH_TYPES, ''),
    /** default "": PEM CA bundle client certificates are verified against */
    client_ca_file: str(''),
  },
  ['cert', 'key', 'client_ca'],
);

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
    /** default 30s: a request's headers and body must arrive within this (API and OTLP/HTTP listeners); 0 = none */
    http_server_read_timeout: duration(D.server.httpServerReadTimeout),
    /** default 30s: from a request's headers to the end of its answer, else the connection is closed; 0 = none */
    http_server_write_timeout: duration(D.server.httpServerWriteTimeout),
    /** default 2m: an HTTP connection without traffic for this long is closed; 0 = never */
    http_server_idle_timeout: duration(D.server.httpServerIdleTimeout),
    /**
     * default 0 (rubato: automatic, a quarter of the process's open-file limit; Tempo: no limit): most
     * open connections on each HTTP listener (API and OTLP/HTTP); more are closed as they arrive
     */
    http_listen_conn_limit: int(0),
    /** default 0 (rubato: automatic, as http_listen_conn_limit; Tempo: no limit): most open connections on the OTLP/gRPC listener */
    grpc_listen_conn_limit: int(0),
    /** default 100: calls one OTLP/gRPC connection may have open at once */
    grpc_server_max_concurrent_streams: int(D.server.grpcServerMaxConcurrentStreams),
    /** default 2m (rubato; Tempo: infinite): an OTLP/gRPC connection without calls for this long is closed; 0 = never */
    grpc_server_max_connection_idle: duration(D.server.grpcServerMaxConnectionIdle),
    /** default infinite (0 = never): an OTLP/gRPC connection older than this is asked to go away */
    grpc_server_max_connection_age: duration(0),
    /** default infinite (0 = never): how long calls may finish after max_connection_age */
    grpc_server_max_connection_age_grace: duration(0),
    /** default 2h: after this long without activity the server pings the client */
    grpc_server_keepalive_time: duration(D.server.grpcServerKeepaliveTime),
    /** default 20s: an unanswered ping closes the connection after this */
    grpc_server_keepalive_timeout: duration(D.server.grpcServerKeepaliveTimeout),
    /** default 30s: how long shutdown waits for in-flight requests */
    graceful_shutdown_timeout: duration(D.server.gracefulShutdownTimeout),
    /** default 16MiB */
    grpc_server_max_recv_msg_size: bytes(D.server.grpcServerMaxRecvMsgSize),
    /** default 16MiB */
    grpc_server_max_send_msg_size: bytes(D.server.grpcServerMaxSendMsgSize),
    /** default: off. TLS (and optionally mTLS) on the HTTP API port */
    http_tls_config: serverTlsSchema.prefault({}),
    /** default "" (VersionTLS12, node's floor): lowest TLS version of http_tls_config and grpc_tls_config; VersionTLS10 … VersionTLS13 */
    tls_min_version: oneOf(['', 'VersionTLS10', 'VersionTLS11', 'VersionTLS12', 'VersionTLS13'], ''),
    /** default: off. TLS (and optionally mTLS) on the internal gRPC port of ingesters and metrics generators (distributed mode) */
    grpc_tls_config: serverTlsSchema.prefault({}),
  },
  [
    'http_listen_network',
    'grpc_listen_network',
    'grpc_collect_max_streams_by_conn',
    'proxy_protocol_enabled',
    'tls_cipher_suites',
    'register_instrumentation',
    'report_grpc_codes_in_instrumentation_label_enabled',
    'http_server_read_header_timeout',
    'http_log_closed_connections_without_response_enabled',
    // grpc-js does not police how often clients ping, so these two are accepted but have no effect.
    'grpc_server_min_time_between_pings',
    'grpc_server_ping_without_stream_allowed',
    'grpc_server_num_workers',
    'grpc_server_stats_tracking_enabled',
    'grpc_server_recv_buffer_pools_enabled',
    'log_source_ips_enabled',
    'log_source_ips_full',
    'log_source_ips_header',
    'log_source_ips_regex',
    'log_request_headers',
    'log_request_at_info_level_enabled',
    'log_request_exclude_headers_list',
    'trace_request_headers',
    'trace_request_exclude_headers_list',
    'http_path_prefix',
    'cluster_validation',
  ],
);

// ------------------------------------------------------------------------------------ internal clients

/**
 * dskit's gRPC client block, as Tempo's ingester_client and metrics_generator_client take it: how a
 * distributed target dials the internal gRPC port of ingesters and generators. Only TLS is wired.
 */
const grpcClientSchema = section(
  {
    /** default false: dial with TLS (the servers set server.grpc_tls_config) */
    tls_enabled: bool(false),
    /** default "": PEM client certificate, shown when the server asks for one (mTLS); needs tls_key_path */
    tls_cert_path: str(''),
    /** default "": PEM private key of tls_cert_path */
    tls_key_path: str(''),
    /** default "" (the system's CAs): PEM CA bundle the servers' certificates are verified against */
    tls_ca_path: str(''),
    /** default "" (the address's host): name the server certificate must carry */
    tls_server_name: str(''),
    /** default false: do not verify the server certificate (testing only) */
    tls_insecure_skip_verify: bool(false),
  },
  [
    'tls_cipher_suites',
    'tls_min_version',
    'max_recv_msg_size',
    'max_send_msg_size',
    'grpc_compression',
    'rate_limit',
    'rate_limit_burst',
    'backoff_on_ratelimits',
    'backoff_config',
    'initial_stream_window_size',
    'initial_connection_window_size',
    'connect_timeout',
    'connect_backoff_base_delay',
    'connect_backoff_max_delay',
    'cluster_validation',
  ],
);

const internalClientSchema = section({ grpc_client_config: grpcClientSchema.prefault({}) }, ['pool_config', 'remote_timeout']);

export type GrpcClientConfig = z.output<typeof grpcClientSchema>;

// ----------------------------------------------------------------------------------------- distributor

/** The OpenTelemetry Collector's server TLS block (configtls.ServerConfig), as the OTLP receivers take it. */
const receiverTlsSchema = section(
  {
    /** PEM certificate (with its chain); required with key_file. Re-read when the file changes */
    cert_file: str(''),
    /** PEM private key of cert_file */
    key_file: str(''),
    /** default "": PEM CA bundle; when set, clients must show a certificate it signed (mTLS) */
    client_ca_file: str(''),
    /** default "1.2": lowest TLS version accepted ("1.0" … "1.3") */
    min_version: str('1.2'),
    /** default "" (the newest node has): highest TLS version accepted */
    max_version: str(''),
  },
  [
    'ca_file',
    'ca_pem',
    'cert_pem',
    'key_pem',
    'client_ca_file_reload',
    'reload_interval',
    'cipher_suites',
    'include_system_ca_certs_pool',
    'curve_preferences',
    'tpm_config',
  ],
);

export type ReceiverTlsConfig = z.output<typeof receiverTlsSchema>;
export type ServerTlsConfig = z.output<typeof serverTlsSchema>;

const otlpGrpcSchema = section(
  {
    /** default "0.0.0.0:4317" */
    endpoint: str(D.distributor.otlpGrpcEndpoint),
    /** default 4 (the OpenTelemetry Collector's): largest accepted request, in MiB */
    max_recv_msg_size_mib: int(D.distributor.otlpGrpcMaxRecvMsgSizeMib, 1),
    /** default: plaintext */
    tls: receiverTlsSchema.optional(),
  },
  ['transport', 'keepalive', 'max_concurrent_streams', 'read_buffer_size', 'write_buffer_size', 'include_metadata', 'auth'],
);

const otlpHttpSchema = section(
  {
    /** default "0.0.0.0:4318" */
    endpoint: str(D.distributor.otlpHttpEndpoint),
    /** default 20MiB (the Collector's): largest request body, as sent and after decompression; beyond it 413 */
    max_request_body_size: bytes(D.distributor.otlpHttpMaxRequestBodySize),
    /** default: plaintext */
    tls: receiverTlsSchema.optional(),
  },
  ['cors', 'include_metadata', 'auth', 'traces_url_path', 'metrics_url_path', 'logs_url_path', 'response_headers', 'compression_algorithms'],
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
    /**
     * default 64MiB (rubato extension): request bytes all OTLP receivers together may hold in memory,
     * compressed and decompressed, from before a body is read until its push is acknowledged; beyond it
     * requests are refused with 429 / RESOURCE_EXHAUSTED (with a retry hint) before being read. 0 = no budget.
     */
    max_inflight_bytes: bytes(D.distributor.maxInflightBytes),
  },
  [
    'ring',
    'override_ring_key',
    'forwarders',
    'usage',
    'ingester_write_path_enabled',
    'kafka_write_path_enabled',
    'kafka_config',
    'extend_writes',
    'retry_after_on_resource_exhausted',
    'log_received_spans',
    'log_received_traces',
    'log_discarded_spans',
    'metric_received_spans',
    'search_tags_deny_list',
  ],
);

// -------------------------------------------------------------------------------------------- ingester

// The ingester ring (distributed mode, -target other than all): Tempo's lifecycler keys. rubato keeps
// the ring in etcd; memberlist and consul are refused at start in distributed mode.
const ringKvstoreSchema = section(
  {
    /** default "memberlist" (Tempo's); rubato's distributed mode needs "etcd" */
    store: oneOf(['memberlist', 'etcd', 'consul', 'inmemory', 'multi'], 'memberlist'),
    /** default "collectors/": key prefix of the ring in the store */
    prefix: str('collectors/'),
    etcd: section(
      {
        /** default []: etcd client URLs, e.g. ["http://etcd:2379"] */
        endpoints: strList([]),
        /** default 10s */
        dial_timeout: duration(10_000),
        /** default false: talk to etcd over TLS (endpoints without a scheme get https://) */
        tls_enabled: bool(false),
        /** default "": client certificate and key for etcd's --client-cert-auth (mTLS) */
        tls_cert_path: str(''),
        tls_key_path: str(''),
        /** default "": CA that signed etcd's certificate; "": the system's trusted CAs */
        tls_ca_path: str(''),
        /** default "": name to check etcd's certificate against instead of the endpoint's host */
        tls_server_name: str(''),
        /** default false: rubato always verifies etcd's certificate; true is refused at start */
        tls_insecure_skip_verify: bool(false),
        /** default "": etcd user and password (etcd's auth); both or neither */
        username: str(''),
        password: secret(''),
      },
      ['max_retries', 'tls_cipher_suites', 'tls_min_version'],
    ).prefault({}),
  },
  ['consul', 'multi'],
);

const lifecyclerSchema = section(
  {
    ring: section(
      {
        kvstore: ringKvstoreSchema.prefault({}),
        /** default 5m: an instance without a heartbeat for this long is left out (and its etcd lease expires) */
        heartbeat_timeout: duration(5 * 60_000),
        /** default 1 (Tempo's): ingesters each trace is written to; a push is acknowledged after floor(n/2)+1 of them */
        replication_factor: int(1, 1, 32),
        /** default false: a trace's replicas go to ingesters in distinct availability zones */
        zone_awareness_enabled: bool(false),
        /** default "": comma-separated zones whose ingesters take no writes (a zone being drained) */
        excluded_zones: str(''),
      },
      [],
    ).prefault({}),
    /** default 5s */
    heartbeat_period: duration(5_000),
    /** default 128: tokens each instance takes in the ring */
    num_tokens: int(128, 1, 4096),
    /** default "" (the first non-loopback IPv4 address): address others reach this instance's gRPC port at */
    address: str(''),
    /** default 0 (server.grpc_listen_port) */
    port: int(0, 0, 65535),
    /** default "" (the host name): instance ID in the ring */
    id: str(''),
    /** default "": the instance's zone; required for every ingester when zone_awareness_enabled */
    availability_zone: str(''),
  },
  [
    'join_after',
    'min_ready_duration',
    'observe_period',
    'interface_names',
    'enable_inet6',
    'final_sleep',
    'tokens_file_path',
    'unregister_on_shutdown',
    'readiness_check_ring_health',
  ],
);

const ingesterSchema = section(
  {
    /** Ring membership in distributed mode (see src/cluster/). */
    lifecycler: lifecyclerSchema.prefault({}),
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
    /**
     * default true (Tempo's is false): an emptyDir WAL does not outlive its pod, so rubato writes
     * every head block to the backend on SIGTERM unless told not to
     */
    flush_all_on_shutdown: bool(true),
    /** default 64MiB (rubato extension): memory budget for live traces; beyond it they are cut early */
    max_live_traces_bytes: bytes(D.ingester.maxLiveTracesBytes),
  },
  ['partition_ring', 'override_ring_key', 'flush_object_storage', 'autocomplete_filtering_enabled', 'dedicated_columns'],
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
    /** Tempo's frontend–querier link; rubato's query frontend calls the queriers' HTTP port, and uses only its TLS keys */
    frontend_worker: section({ grpc_client_config: grpcClientSchema.prefault({}) }, [
      'frontend_address',
      'parallelism',
      'match_max_concurrent',
      'dns_lookup_duration',
      'id',
    ]).prefault({}),
  },
  [
    'metrics',
    'partition_ring',
    'shuffle_sharding_ingesters_enabled',
    'shuffle_sharding_ingesters_lookback_period',
    'query_relevant_ingesters',
    'secondary_ingester_ring',
  ],
);

const queryFrontendSchema = section(
  {
    /** default 2000 */
    max_outstanding_per_tenant: int(D.queryFrontend.maxOutstandingPerTenant),
    /** default 2 */
    max_retries: int(D.queryFrontend.maxRetries),
    /** default 128KiB: longer TraceQL queries are refused with 400 */
    max_query_expression_size_bytes: bytes(D.queryFrontend.maxQueryExpressionSizeBytes),
    /** default true: X-Scope-OrgID `a|b` queries several tenants at once (with multitenancy on) */
    multi_tenant_queries_enabled: bool(true),
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
         * rubato's own; default 4MiB: a search stops collecting results once its answer would be
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
        /** default 5m: length of one time job the frontend splits a query_range into */
        interval: duration(D.queryFrontend.metricsInterval),
        /** default 1000: time jobs of one query out to queriers at once */
        concurrent_jobs: int(1000, 1),
        /** default 100 */
        max_exemplars: int(D.queryFrontend.metricsMaxExemplars),
        /** default 0 (no limit): series in a metrics answer before it is cut and marked PARTIAL */
        max_response_series: int(0),
        /** default 10000; 0: no limit. Most points ((end - start) / step) a query_range may ask; more is a 400 */
        max_intervals: int(D.queryFrontend.metricsMaxIntervals),
        /** default 0s (off) */
        duration_slo: duration(0),
        /** default 0 (off) */
        throughput_bytes_slo: num(0),
      },
      ['target_bytes_per_job', 'streaming_shards', 'exemplars'],
    ).prefault({}),
  },
  ['max_batch_size', 'log_query_request_headers', 'response_consumers', 'weights', 'mcp_server', 'rf1_after', 'api_timeout'],
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
        'chunk_size_bytes',
        'flush_size_bytes',
        'iterator_buffer_size',
        'max_compaction_range',
        'v2_in_buffer_bytes',
        'v2_out_buffer_bytes',
        'v2_prefetch_traces_count',
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
    ...TLS_CLIENT_KEYS,
    'part_size',
    'hedge_requests_at',
    'hedge_requests_up_to',
    'signature_v2',
    'enable_dual_stack',
    'bucket_lookup_type',
    'tags',
    'storage_class',
    'metadata',
    'native_aws_auth_enabled',
    'list_blocks_concurrency',
    'sse',
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
        'bloom_filter_shard_size_bytes',
        'version',
        'parquet_dedicated_columns',
        'encoding',
        'search_encoding',
        'search_page_size_bytes',
        'row_group_size_bytes',
        'index_downsample_bytes',
        'index_page_size_bytes',
        'v2_encoding',
        'v2_index_downsample_bytes',
        'v2_index_page_size_bytes',
      ],
    ).prefault({}),
    s3: s3Schema.prefault({}),
    /** default 5m: how often other processes' new blocks are discovered */
    blocklist_poll: duration(D.storage.blocklistPoll),
    /** default true: a poller lists the backend itself when a tenant index is missing, unreadable or stale */
    blocklist_poll_fallback: bool(true),
    /** default 2: 0 = no tenant index (every poller lists the backend); otherwise the compactor holding the index lock builds it */
    blocklist_poll_tenant_index_builders: int(2),
    /** default 0s (off): a tenant index older than this is stale (see blocklist_poll_fallback) */
    blocklist_poll_stale_tenant_index: duration(0),
  },
  [
    'pool',
    'search',
    'gcs',
    'azure',
    'cache',
    'background_cache',
    'memcached',
    'redis',
    'cache_min_compaction_level',
    'cache_max_block_age',
    'blocklist_poll_concurrency',
    'blocklist_poll_tenant_concurrency',
    'blocklist_poll_jitter_ms',
    'blocklist_poll_tolerate_consecutive_errors',
    'blocklist_poll_tolerate_tenant_failures',
    'empty_tenant_deletion_enabled',
    'empty_tenant_deletion_age',
  ],
);

const storageSchema = section({ trace: traceStorageSchema.prefault({}) });

// ----------------------------------------------------------------------------------- metrics_generator

const G = D.metricsGenerator;

/** A list of numbers (histogram bucket bounds), ascending. */
function bucketList(defaultValue: readonly number[]) {
  return z
    .unknown()
    .transform((v, ctx): number[] => {
      const ok = Array.isArray(v) && v.length > 0 && v.every((x, i) => typeof x === 'number' && Number.isFinite(x) && (i === 0 || x > (v[i - 1] as number)));
      if (ok) return v as number[];
      ctx.addIssue({ code: 'custom', message: 'expected a non-empty ascending list of numbers', input: v });
      return z.NEVER;
    })
    .default(() => [...defaultValue]);
}

/** A mapping of strings to strings (headers, external labels). */
function stringMap() {
  return z
    .unknown()
    .transform((v, ctx): Record<string, string> => {
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')) return v as Record<string, string>;
      ctx.addIssue({ code: 'custom', message: 'expected a mapping of strings to strings', input: v });
      return z.NEVER;
    })
    .default(() => ({}));
}

const filterPolicySchema = section({
  /** { match_type: strict | regex, attributes: [{ key, value }] } */
  include: section({
    match_type: oneOf(['strict', 'regex'], 'strict'),
    attributes: z.array(section({ key: str(''), value: z.unknown() })).default(() => []),
  }).optional(),
  exclude: section({
    match_type: oneOf(['strict', 'regex'], 'strict'),
    attributes: z.array(section({ key: str(''), value: z.unknown() })).default(() => []),
  }).optional(),
});

const spanMetricsSchema = section(
  {
    /** default 0.002 … 16.384 (powers of two, seconds) */
    histogram_buckets: bucketList(G.spanMetricsHistogramBuckets),
    /** default service, span_name, span_kind, status_code on; status_message off */
    intrinsic_dimensions: section({
      service: bool(true),
      span_name: bool(true),
      span_kind: bool(true),
      status_code: bool(true),
      status_message: bool(false),
    }).prefault({}),
    /** default []: span or resource attributes added as labels (dots become underscores) */
    dimensions: strList([]),
    /** default []: labels built by joining attributes */
    dimension_mappings: z.array(section({ name: str(''), source_labels: strList([]), join: str('') })).default(() => []),
    /** default false: traces_target_info from resource attributes */
    enable_target_info: bool(false),
    /** default []: which spans count (include / exclude by intrinsic or attribute) */
    filter_policies: z.array(filterPolicySchema).default(() => []),
  },
  ['span_multiplier_key', 'subprocessors', 'target_info_excluded_dimensions', 'enable_instance_label', 'histogram_override'],
);

const serviceGraphsSchema = section(
  {
    /** default 10s: how long an edge waits for its other half */
    wait: duration(G.serviceGraphsWait),
    /** default 10000: most edges waiting at once; more spans are dropped and counted */
    max_items: int(G.serviceGraphsMaxItems, 1),
    /** default 0.1 … 12.8 seconds */
    histogram_buckets: bucketList(G.serviceGraphsHistogramBuckets),
    /** default []: attributes added as labels (client_/server_ prefixed when enable_client_server_prefix) */
    dimensions: strList([]),
    /** default peer.service, db.name, db.system: where a virtual node's name comes from */
    peer_attributes: strList(G.peerAttributes),
    /** default false */
    enable_client_server_prefix: bool(false),
    /** default false: connection_type="virtual_node" on edges to a virtual node */
    enable_virtual_node_label: bool(false),
  },
  ['workers', 'enable_messaging_system_latency_histogram', 'span_multiplier_key', 'database_name_attributes'],
);

const remoteWriteSchema = section(
  {
    /** Prometheus remote-write endpoint, e.g. http://prometheus:9090/api/v1/write */
    url: str(''),
    /** default {}: extra HTTP headers */
    headers: stringMap(),
    /** default false: send exemplars (trace IDs) too */
    send_exemplars: bool(false),
    /** default 30s */
    remote_timeout: duration(30_000),
    basic_auth: section({ username: str(''), password: secret(''), password_file: str('') }).optional(),
    tls_config: section(
      {
        ca_file: str(''),
        cert_file: str(''),
        key_file: str(''),
        server_name: str(''),
        insecure_skip_verify: bool(false),
      },
      ['ca', 'cert', 'key', 'min_version', 'max_version'],
    ).optional(),
  },
  [
    'name',
    'oauth2',
    'sigv4',
    'azuread',
    'authorization',
    'proxy_url',
    'follow_redirects',
    'enable_http2',
    'queue_config',
    'metadata_config',
    'write_relabel_configs',
    'send_native_histograms',
    'round_robin_dns',
    'protobuf_message',
    'http_headers',
    'no_proxy',
    'proxy_from_environment',
    'proxy_connect_header',
  ],
);

const metricsGeneratorSchema = section(
  {
    processor: section(
      {
        span_metrics: spanMetricsSchema.prefault({}),
        service_graphs: serviceGraphsSchema.prefault({}),
      },
      ['local_blocks', 'host_info'],
    ).prefault({}),
    registry: section(
      {
        /** default 15s */
        collection_interval: duration(G.collectionInterval),
        /** default 15m: series not updated this long are removed */
        stale_duration: duration(G.staleDuration),
        /** default {}: labels added to every series */
        external_labels: stringMap(),
        /** default 1024 */
        max_label_name_length: int(G.maxLabelNameLength, 1),
        /** default 2048 */
        max_label_value_length: int(G.maxLabelValueLength, 1),
      },
      ['inject_tenant_id_as'],
    ).prefault({}),
    storage: section(
      {
        /** default "./data/generator" (rubato writes nothing there: its queue is in memory) */
        path: str(G.storagePath),
        /** default []: Prometheus remote-write endpoints */
        remote_write: z.array(remoteWriteSchema).default(() => []),
        /** default true: X-Scope-OrgID header with the tenant on remote writes */
        remote_write_add_org_id_header: bool(true),
        /** default 16MiB (rubato extension): memory the remote-write queue of one URL may hold; beyond it the oldest data is dropped and counted */
        queue_max_bytes: bytes(G.remoteWriteQueueBytes),
      },
      ['wal', 'remote_write_flush_deadline'],
    ).prefault({}),
    /** default 30s: spans ending further than this from now are not counted; 0 = no check */
    metrics_ingestion_time_range_slack: duration(G.metricsIngestionTimeRangeSlack),
  },
  [
    'ring',
    'traces_storage',
    'traces_query_storage',
    'query_timeout',
    'override_ring_key',
    'instance_id',
    'codec',
    'assigned_partitions',
    'ingest_concurrency',
    'leave_consumer_group_on_shutdown',
    'disable_grpc',
    'generate_native_histograms',
  ],
);

export type MetricsGeneratorConfig = z.output<typeof metricsGeneratorSchema>;
export type RemoteWriteConfig = z.output<typeof remoteWriteSchema>;

/** The per-tenant generator settings (`overrides.*.metrics_generator`). */
const tenantGeneratorSchema = section(
  {
    /** default []: which processors run (service-graphs, span-metrics); none until set, as in Tempo */
    processors: z
      .unknown()
      .transform((v, ctx): string[] => {
        if (Array.isArray(v) && v.every((x) => x === 'service-graphs' || x === 'span-metrics' || x === 'local-blocks')) return v as string[];
        ctx.addIssue({ code: 'custom', message: 'expected a list of service-graphs, span-metrics', input: v });
        return z.NEVER;
      })
      .default(() => []),
    /** default 100000 (rubato; Tempo's is 0): most active series of the tenant; 0 = no limit */
    max_active_series: int(D.overrides.generatorMaxActiveSeries),
    /** default 0s: 0 = metrics_generator.registry.collection_interval */
    collection_interval: duration(0),
  },
  [
    'ring_size',
    'disable_collection',
    'forwarder',
    'processor',
    'trace_id_label_name',
    'ingestion_time_range_slack',
    'max_active_entities',
    'remote_write_headers',
    'generate_native_histograms',
    'native_histogram_bucket_factor',
    'native_histogram_max_bucket_number',
    'native_histogram_min_reset_duration',
    'span_name_sanitization',
    'max_cardinality_per_label',
    'dedicated_columns',
  ],
);

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
        /** default 0: the tenant's distributor.max_attribute_bytes; 0 = use the distributor's */
        max_attribute_bytes: int(0),
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
    metrics_generator: tenantGeneratorSchema.prefault({}),
    /** rubato's own: attribute and span-name redaction at ingest, before the WAL (see src/redact/) */
    redaction: redactionSchema.prefault({}),
  },
  ['forwarders', 'storage', 'cost_attribution'],
);

export type TenantLimits = z.output<typeof tenantLimitsSchema>;

const overridesSchema = section(
  {
    /** defaults for every tenant (the legacy flat layout is converted into this) */
    defaults: tenantLimitsSchema.prefault({}),
    /** default "": YAML file with per-tenant overrides; a missing file is a warning */
    per_tenant_override_config: str(''),
    /** default 10s: how often that file is re-read; a bad file keeps the last good overrides; 0 = never */
    per_tenant_override_period: duration(D.overrides.perTenantOverridePeriod),
  },
  ['user_configurable_overrides'],
);

// ------------------------------------------------------------------------------------------------ auth

// rubato's own access control (Tempo has none: it leaves it to a gateway). Off unless enabled, so a
// Tempo config without this section behaves as before. See src/auth/.
const authTokenSchema = section({
  /** shown in logs and errors instead of the token */
  name: str(''),
  /** "sha256:<64 hex digits>" of the token (npm run hash-token); never the token itself */
  hash: secret(''),
  /** read (the query API) and/or write (the OTLP receivers) */
  rights: strList([]),
  /** tenants the token reaches with multitenancy on; "*" = every tenant */
  tenants: strList([]),
}).superRefine((t, ctx) => {
  // A bad hash, right or tenant list fails start-up (and -config.verify) with the entry's path.
  const problem = tokenSpecProblem(t);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem, input: t });
});

const authSchema = section({
  /** default false: when true, the API needs a read token and the OTLP receivers a write token */
  enabled: bool(false),
  /** default []: tokens given in the config */
  tokens: z.array(authTokenSchema).default(() => []),
  /** default "": file with more tokens, one a line (name hash rights tenants); re-read when it changes */
  tokens_file: str(''),
  /** default 10s: how often tokens_file is checked for changes */
  tokens_file_period: duration(10_000),
  /** default "X-Rubato-Token": a header that may carry the token, besides Authorization (Bearer, or Basic with the token as password) */
  header: str('X-Rubato-Token'),
  /** default false: /metrics needs a read token too */
  protect_metrics: bool(false),
});

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
    metrics_generator: metricsGeneratorSchema.prefault({}),
    /** rubato's own: access control by token (off by default) */
    auth: authSchema.prefault({}),
    /** how distributors and queriers dial ingesters' internal gRPC port (TLS keys) */
    ingester_client: internalClientSchema.prefault({}),
    /** how distributors dial metrics generators' internal gRPC port (TLS keys) */
    metrics_generator_client: internalClientSchema.prefault({}),
  },
  [
    'http_api_prefix',
    'internal_server',
    'live_store_client',
    'memberlist',
    'usage_report',
    'cache',
    'backend_scheduler',
    'backend_scheduler_client',
    'backend_worker',
    'block_builder',
    'ingest',
    'live_store',
    'partition_ring_live_store',
    'use_otel_tracer',
    'autocomplete_filtering_enabled',
    'enable_go_runtime_metrics',
    'shutdown_delay',
    'querier_client',
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
