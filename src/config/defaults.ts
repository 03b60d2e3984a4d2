// rubato's built-in defaults. Mostly Tempo 2.10's, except where our users' deployment sets its own
// value (HTTP port 3100, block retention 72h, storage under ./data instead of /var/tempo so rubato runs
// without root). Durations are milliseconds and sizes bytes, as in the parsed config.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export const TARGETS = ['all', 'distributor', 'ingester', 'querier', 'query-frontend', 'compactor', 'metrics-generator'] as const;
export type Target = (typeof TARGETS)[number];

export const STORAGE_BACKENDS = ['local', 's3', 'gcs', 'azure'] as const;
/** Backends rubato can run with today; the others are Tempo's and rejected with a clear error. */
export const IMPLEMENTED_STORAGE_BACKENDS: readonly string[] = ['local', 's3'];

export const DEFAULTS = {
  target: 'all',
  multitenancyEnabled: false,
  server: {
    httpListenAddress: '0.0.0.0',
    httpListenPort: 3100,
    grpcListenAddress: '',
    grpcListenPort: 9095,
    logLevel: 'info',
    logFormat: 'logfmt',
    httpServerReadTimeout: 30 * SECOND,
    httpServerWriteTimeout: 30 * SECOND,
    httpServerIdleTimeout: 2 * MINUTE,
    gracefulShutdownTimeout: 30 * SECOND,
    grpcServerMaxRecvMsgSize: 16 * MiB,
    grpcServerMaxSendMsgSize: 16 * MiB,
    grpcServerMaxConcurrentStreams: 100,
    // Tempo's is infinite; rubato closes idle gRPC connections as it does idle HTTP ones, since each
    // holds a file descriptor. Clients reconnect on their next export.
    grpcServerMaxConnectionIdle: 2 * MINUTE,
    grpcServerKeepaliveTime: 2 * HOUR,
    grpcServerKeepaliveTimeout: 20 * SECOND,
  },
  distributor: {
    otlpGrpcEndpoint: '0.0.0.0:4317',
    otlpGrpcMaxRecvMsgSizeMib: 4,
    otlpHttpEndpoint: '0.0.0.0:4318',
    otlpHttpMaxRequestBodySize: 20 * MiB,
    maxAttributeBytes: 2048,
    maxInflightBytes: 64 * MiB,
  },
  ingester: {
    traceIdlePeriod: 10 * SECOND,
    traceLivePeriod: 30 * SECOND,
    maxBlockDuration: 30 * MINUTE,
    maxBlockBytes: 500 * MiB,
    completeBlockTimeout: 15 * MINUTE,
    flushCheckPeriod: 10 * SECOND,
    flushOpTimeout: 5 * MINUTE,
    concurrentFlushes: 4,
    maxLiveTracesBytes: 64 * MiB,
  },
  querier: {
    searchQueryTimeout: 30 * SECOND,
    traceByIdQueryTimeout: 10 * SECOND,
    maxConcurrentQueries: 20,
  },
  queryFrontend: {
    maxOutstandingPerTenant: 2000,
    maxRetries: 2,
    searchConcurrentJobs: 1000,
    searchTargetBytesPerJob: 100 * MiB,
    maxQueryExpressionSizeBytes: 128 * KiB,
    searchDefaultResultLimit: 20,
    searchMaxResultLimit: 0,
    searchMaxDuration: 168 * HOUR,
    searchQueryBackendAfter: 15 * MINUTE,
    searchQueryIngestersUntil: 30 * MINUTE,
    searchDefaultSpansPerSpanSet: 3,
    searchMaxSpansPerSpanSet: 100,
    searchMaxResponseBytes: 4 * MiB,
    traceByIdQueryShards: 50,
    metricsMaxDuration: 24 * HOUR,
    metricsQueryBackendAfter: 30 * MINUTE,
    metricsInterval: 5 * MINUTE,
    metricsMaxExemplars: 100,
    metricsMaxIntervals: 10_000,
  },
  compactor: {
    blockRetention: 72 * HOUR,
    compactedBlockRetention: 1 * HOUR,
    compactionWindow: 1 * HOUR,
    maxCompactionObjects: 6_000_000,
    maxBlockBytes: 100 * GiB,
    compactionCycle: 30 * SECOND,
    retentionConcurrency: 10,
    maxTimePerTenant: 5 * MINUTE,
  },
  storage: {
    backend: 'local',
    localPath: './data/traces',
    walPath: './data/wal',
    bloomFilterFalsePositive: 0.01,
    parquetRowGroupSizeBytes: 100_000_000,
    blocklistPoll: 5 * MINUTE,
    s3CacheBytes: 1 * GiB,
  },
  overrides: {
    rateStrategy: 'local',
    rateLimitBytes: 15_000_000,
    burstSizeBytes: 20_000_000,
    maxTracesPerUser: 10_000,
    maxGlobalTracesPerUser: 0,
    maxBytesPerTrace: 5_000_000,
    maxBytesPerTagValuesQuery: 1_000_000,
    perTenantOverridePeriod: 10 * SECOND,
    /** rubato's default (Tempo's is 0 = unlimited, the road to the OOM kill); an explicit 0 still means unlimited */
    generatorMaxActiveSeries: 100_000,
  },
  metricsGenerator: {
    spanMetricsHistogramBuckets: [0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384],
    serviceGraphsHistogramBuckets: [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8],
    serviceGraphsWait: 10 * SECOND,
    serviceGraphsMaxItems: 10_000,
    peerAttributes: ['peer.service', 'db.name', 'db.system'],
    collectionInterval: 15 * SECOND,
    staleDuration: 15 * MINUTE,
    maxLabelNameLength: 1024,
    maxLabelValueLength: 2048,
    storagePath: './data/generator',
    /** rubato's own: memory the outgoing remote-write queue may hold per URL before the oldest data is dropped */
    remoteWriteQueueBytes: 16 * MiB,
    metricsIngestionTimeRangeSlack: 30 * SECOND,
  },
} as const;
