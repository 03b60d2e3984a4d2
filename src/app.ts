import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { RubatoConfig } from './config/schema.js';
import { enableProcessMetrics } from './metrics/registry.js';
import { createBackend, type BackendSpec } from './backend/create.js';
import type { Backend } from './backend/backend.js';
import type { Pusher } from './model/pusher.js';
import { configureBlockCache } from './block/remote-file.js';
import { Ingester, type IngesterOptions } from './ingester/ingester.js';
import { childProcessBuilder } from './ingester/block-builder.js';
import { createDistributor } from './distributor/distributor.js';
import type { RateLimit } from './distributor/rate-limiter.js';
import { startGrpcReceiver, type GrpcConnectionOptions, type GrpcReceiver } from './receivers/grpc.js';
import { startHttpReceiver, type HttpReceiver } from './receivers/http.js';
import { InflightBudget } from './receivers/inflight.js';
import { automaticConnectionLimit, type HttpListenerLimits } from './util/http-listener.js';
import { Blocklist, tenantIndexPollingOf } from './querier/blocklist.js';
import { tenantIndexBuilderOf, type TenantIndexBuilderOptions } from './compactor/tenant-index-builder.js';
import { listTenants } from './block/listing.js';
import { Querier } from './querier/querier.js';
import { Searcher } from './querier/search.js';
import { MetricsQuerier } from './querier/metrics.js';
import { TagService } from './querier/tags.js';
import { startApiServer, type ApiServerOptions } from './api/server.js';
import type { BuildInfo } from './api/ops-routes.js';
import { startCompactor, type CompactionOptions } from './compactor/compactor.js';
import { tenantLimits } from './overrides/limits.js';
import { generatorSettings } from './overrides/generator.js';
import { createMetricsGenerator } from './generator/generator.js';
import { CertificateWatchers, type CertificateWatcher } from './tls/certificate-watcher.js';
import { startOverridesReload } from './overrides/reload.js';
import { parseTenantOverridesIsolated } from './config/overrides-isolated.js';
import { apiTlsSettings, receiverTlsSettings } from './tls/settings.js';
import { federated } from './querier/federated.js';
import { tenantsOf } from './model/tenant.js';
import { startAuth, type AuthRuntime } from './auth/setup.js';
import type { ApiGateOptions } from './auth/api-gate.js';
import { createRedactor, redactingPusher } from './redact/redactor.js';
import { checkRedactionKey } from './config/redaction.js';

export interface RunningApp {
  /** Ports actually bound (useful when the config asks for port 0). */
  readonly ports: { http: number; otlpGrpc: number | null; otlpHttp: number | null };
  /** Stops taking data, flushes everything to blocks, closes. */
  stop(): Promise<void>;
}

export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** What /api/status/buildinfo answers, the same on every target. */
export function buildInfo(): BuildInfo {
  return { version: packageVersion(), revision: process.env['RUBATO_REVISION'] ?? 'unknown', branch: 'main', buildDate: '' };
}

/** The HTTP listeners' limits from Tempo's server keys (the API port and OTLP/HTTP). */
export function httpListenerOf(srv: RubatoConfig['server']): HttpListenerLimits {
  return {
    readTimeoutMs: srv.http_server_read_timeout,
    writeTimeoutMs: srv.http_server_write_timeout,
    idleTimeoutMs: srv.http_server_idle_timeout,
    maxConnections: srv.http_listen_conn_limit > 0 ? srv.http_listen_conn_limit : automaticConnectionLimit(),
  };
}

/** HTTP/2 connection settings from Tempo's grpc_server_* keys (OTLP/gRPC, and streaming on the API port). */
export function grpcConnectionOf(srv: RubatoConfig['server']): GrpcConnectionOptions {
  return {
    maxConcurrentStreams: srv.grpc_server_max_concurrent_streams,
    maxConnectionIdleMs: srv.grpc_server_max_connection_idle,
    maxConnectionAgeMs: srv.grpc_server_max_connection_age,
    maxConnectionAgeGraceMs: srv.grpc_server_max_connection_age_grace,
    keepaliveTimeMs: srv.grpc_server_keepalive_time,
    keepaliveTimeoutMs: srv.grpc_server_keepalive_timeout,
  };
}

/** The OTLP/gRPC receiver's connections: the HTTP/2 settings and the connection cap. */
export function receiverGrpcConnectionOf(srv: RubatoConfig['server']): GrpcConnectionOptions {
  return { ...grpcConnectionOf(srv), maxConnections: srv.grpc_listen_conn_limit > 0 ? srv.grpc_listen_conn_limit : automaticConnectionLimit() };
}

/** The configured trace storage. */
export function backendSpec(cfg: RubatoConfig): BackendSpec {
  const t = cfg.storage.trace;
  if (t.backend !== 's3') return { kind: 'local', path: resolve(t.local.path) };
  const s = t.s3;
  return {
    kind: 's3',
    s3: {
      bucket: s.bucket,
      prefix: s.prefix,
      endpoint: s.endpoint,
      region: s.region,
      accessKey: s.access_key,
      secretKey: s.secret_key,
      sessionToken: s.session_token,
      insecure: s.insecure,
      forcePathStyle: s.forcepathstyle,
    },
  };
}

/** The configured backend, with the S3 block cache set up when blocks live in a bucket. */
export function openStorage(cfg: RubatoConfig): { storage: BackendSpec; backend: Backend } {
  const storage = backendSpec(cfg);
  if (storage.kind === 's3') {
    const { cache_bytes, cache_path } = cfg.storage.trace.s3;
    configureBlockCache({ maxBytes: cache_bytes, ...(cache_path !== '' ? { dir: resolve(cache_path) } : {}) });
  }
  return { storage, backend: createBackend(storage) };
}

/** The ingester's settings from the config (one process or `-target=ingester`); callers add their hooks. */
export function ingesterOptions(cfg: RubatoConfig, storage: BackendSpec, backend: Backend, logger: Logger): IngesterOptions {
  return {
    walDir: resolve(cfg.storage.trace.wal.path),
    backend,
    traceIdlePeriodMs: cfg.ingester.trace_idle_period,
    maxBlockDurationMs: cfg.ingester.max_block_duration,
    maxBlockBytes: cfg.ingester.max_block_bytes,
    maxLiveBytes: cfg.ingester.max_live_traces_bytes,
    limits: (tenant) => {
      const l = tenantLimits(cfg, tenant);
      return { maxBytesPerTrace: l.global.max_bytes_per_trace, maxLiveTraces: l.ingestion.max_traces_per_user };
    },
    logger,
    flushAllOnShutdown: cfg.ingester.flush_all_on_shutdown,
    blockBuilder: childProcessBuilder(storage, { bloomFalsePositive: cfg.storage.trace.block.bloom_filter_false_positive }, cfg.ingester.flush_op_timeout),
  };
}

/**
 * A tenant's ingestion rate limit in this distributor. `global` (Tempo's rate_strategy): the limit is
 * shared by the healthy distributors, each taking its part; the burst stays each distributor's own.
 * One process is one distributor.
 */
export function tenantRateLimit(cfg: RubatoConfig, tenant: string, healthyDistributors: number): RateLimit {
  const l = tenantLimits(cfg, tenant).ingestion;
  const share = l.rate_strategy === 'global' ? Math.max(1, healthyDistributors) : 1;
  const bytesPerSecond = l.rate_limit_bytes / share;
  return { bytesPerSecond, burstBytes: Math.max(l.burst_size_bytes, bytesPerSecond) };
}

/** A cross-tenant query (tenant key `a|b`) is held to the strictest read limit of its tenants (0 = none). */
function strictest(key: string, limit: (tenant: string) => number): number {
  const set = tenantsOf(key)
    .map(limit)
    .filter((v) => v > 0);
  return set.length === 0 ? 0 : Math.min(...set);
}

/** A tenant's (or `a|b`'s strictest) max_bytes_per_tag_values_query. */
export function tagValuesMaxBytes(cfg: RubatoConfig, tenant: string): number {
  return strictest(tenant, (t) => tenantLimits(cfg, t).read.max_bytes_per_tag_values_query);
}

/**
 * The query API's timeouts and limits from the config, for every process that serves it (one
 * process, a querier, a query frontend), so the three cannot drift apart.
 */
function apiLimitsOf(
  cfg: RubatoConfig,
): Pick<ApiServerOptions, 'traceByIdTimeoutMs' | 'searchTimeoutMs' | 'maxSearchDurationMs' | 'searchLimits' | 'metricsLimits'> {
  const qf = cfg.query_frontend;
  return {
    traceByIdTimeoutMs: cfg.querier.trace_by_id.query_timeout,
    searchTimeoutMs: cfg.querier.search.query_timeout,
    maxSearchDurationMs: (tenant) => strictest(tenant, (t) => tenantLimits(cfg, t).read.max_search_duration || qf.search.max_duration),
    searchLimits: {
      defaultLimit: qf.search.default_result_limit,
      maxLimit: qf.search.max_result_limit,
      defaultSpss: qf.search.default_spans_per_span_set,
      maxSpss: qf.search.max_spans_per_span_set,
      maxResponseBytes: qf.search.max_response_bytes,
      maxQueryBytes: qf.max_query_expression_size_bytes,
    },
    metricsLimits: {
      maxDurationMs: qf.metrics.max_duration,
      maxExemplars: qf.metrics.max_exemplars,
      maxIntervals: qf.metrics.max_intervals,
      maxResponseSeries: qf.metrics.max_response_series,
    },
  };
}

/** The distributor in front of `next`: the per-tenant rate limit and max_attribute_bytes. */
export function configuredDistributor(cfg: RubatoConfig, next: Pusher, healthyDistributors: () => number = () => 1): Pusher {
  const limits = (tenant: string) => tenantLimits(cfg, tenant);
  return createDistributor({
    ingester: next,
    rateLimit: (tenant) => tenantRateLimit(cfg, tenant, healthyDistributors()),
    // As Tempo: the tenant's override when set (> 0), the distributor's otherwise.
    maxAttributeBytes: (tenant) => limits(tenant).ingestion.max_attribute_bytes || cfg.distributor.max_attribute_bytes,
  });
}

/** The overrides' redaction rules in front of `next`, every known tenant's rules compiled now. */
export function redactionBefore(cfg: RubatoConfig, next: Pusher): Pusher {
  const redactor = createRedactor((tenant) => ({ defaults: cfg.overrides.defaults.redaction, tenant: tenantLimits(cfg, tenant).redaction }));
  for (const tenant of ['', ...Object.keys(cfg.overrides.per_tenant)]) redactor.prepare(tenant);
  return redactingPusher(next, redactor);
}

/** The compactor's settings from the config (one process or `-target=compactor`); callers add their hooks. */
export function compactorOptions(
  cfg: RubatoConfig,
  logger: Logger,
): Omit<CompactionOptions, 'now'> & { intervalMs: number; tenantIndex: TenantIndexBuilderOptions | null } {
  return {
    retentionMs: cfg.compactor.compaction.block_retention,
    compactedBlockRetentionMs: cfg.compactor.compaction.compacted_block_retention,
    bloomFalsePositive: cfg.storage.trace.block.bloom_filter_false_positive,
    forTenant: (tenant) => {
      const c = tenantLimits(cfg, tenant).compaction;
      return { retentionMs: c.block_retention, compactionDisabled: c.compaction_disabled };
    },
    compactionWindowMs: cfg.compactor.compaction.compaction_window,
    intervalMs: cfg.compactor.compaction.compaction_cycle,
    tenantIndex: tenantIndexBuilderOf(cfg),
    logger,
  };
}

/** The API server's security from the config: TLS (server.http_tls_config), the gate, streaming. */
export interface ApiSecurity {
  readonly tls?: CertificateWatcher;
  readonly gate: ApiGateOptions;
  readonly streamOverHttp?: { readonly connection: GrpcConnectionOptions };
}

/**
 * What every HTTP API server of the config (one process, a querier, a query frontend) puts in
 * front of its routes: TLS with a certificate that follows its files, access control
 * and the tenant checks, and Grafana's streaming gRPC on the same port when stream_over_http_enabled.
 */
export function apiSecurityOf(cfg: RubatoConfig, auth: AuthRuntime | null, certificates: CertificateWatchers): ApiSecurity {
  return {
    ...certificates.for(apiTlsSettings(cfg.server)),
    gate: {
      multitenancy: cfg.multitenancy_enabled,
      multiTenantQueries: cfg.query_frontend.multi_tenant_queries_enabled,
      access: auth === null ? null : { control: auth.control, header: auth.header, protectMetrics: auth.protectMetrics },
    },
    // Grafana's streaming queries: gRPC on the API port, HTTP/2 connections set as for the gRPC server.
    ...(cfg.stream_over_http_enabled ? { streamOverHttp: { connection: grpcConnectionOf(cfg.server) } } : {}),
  };
}

/** What every query API server of the config shares: where it listens, its security and limits, its status pages. */
export interface ApiServerBase {
  readonly auth: AuthRuntime | null;
  readonly certificates: CertificateWatchers;
  readonly logger: Logger;
  readonly configYaml: string;
  readonly services: () => Record<string, string>;
}

/**
 * The options one process, a querier and a query frontend give their API servers alike; each adds
 * readiness, flush and its data functions.
 */
export function apiServerBase(cfg: RubatoConfig, b: ApiServerBase) {
  return {
    host: cfg.server.http_listen_address,
    port: cfg.server.http_listen_port,
    listener: httpListenerOf(cfg.server),
    ...apiSecurityOf(cfg, b.auth, b.certificates),
    logger: b.logger,
    multitenancy: cfg.multitenancy_enabled,
    configYaml: () => b.configYaml,
    buildInfo: buildInfo(),
    services: b.services,
    ...apiLimitsOf(cfg),
  } satisfies Partial<ApiServerOptions>;
}

export interface Receivers {
  readonly grpc: GrpcReceiver | null;
  readonly http: HttpReceiver | null;
  close(): Promise<void>;
}

/**
 * The OTLP receivers the config enables (one process or `-target=distributor`) in front of `pusher`:
 * their Collector `tls:` blocks, write tokens when access control is on, one in-flight budget, and
 * the server's connection settings.
 */
export async function startReceivers(
  cfg: RubatoConfig,
  pusher: Pusher,
  auth: AuthRuntime | null,
  certificates: CertificateWatchers,
  logger: Logger,
): Promise<Receivers> {
  const srv = cfg.server;
  const protocols = cfg.distributor.receivers.otlp.protocols;
  const multitenancy = cfg.multitenancy_enabled;
  const pushAuth = auth === null ? null : { control: auth.control, header: auth.header };
  // One budget for both receivers: memory is one pool whatever the transport.
  const inflight = new InflightBudget(cfg.distributor.max_inflight_bytes);
  const grpc =
    protocols.grpc === null
      ? null
      : await startGrpcReceiver({
          endpoint: protocols.grpc.endpoint,
          maxRecvBytes: protocols.grpc.max_recv_msg_size_mib * 1024 * 1024,
          multitenancy,
          pusher,
          logger,
          inflight,
          ...certificates.for(receiverTlsSettings('otlp-grpc', protocols.grpc.tls)),
          auth: pushAuth,
          connection: receiverGrpcConnectionOf(srv),
        });
  let http: HttpReceiver | null = null;
  try {
    http =
      protocols.http === null
        ? null
        : await startHttpReceiver({
            endpoint: protocols.http.endpoint,
            maxBodyBytes: protocols.http.max_request_body_size,
            multitenancy,
            pusher,
            logger,
            inflight,
            listener: httpListenerOf(srv),
            ...certificates.for(receiverTlsSettings('otlp-http', protocols.http.tls)),
            auth: pushAuth,
          });
  } catch (err) {
    await grpc?.close();
    throw err;
  }
  return {
    grpc,
    http,
    close: async () => {
      await Promise.allSettled([grpc?.close(), http?.close()]);
    },
  };
}

/** Starts every module in one process (Tempo's `-target=all`), wired with in-process calls. */
export async function startApp(cfg: RubatoConfig, configYaml: string, logger: Logger): Promise<RunningApp> {
  enableProcessMetrics();
  const { storage, backend } = openStorage(cfg);
  // Every limit is looked up per request through tenantLimits, so swapping the per-tenant table is enough.
  const overridesPath = cfg.overrides.per_tenant_override_config;
  const overridesReload =
    overridesPath !== '' && cfg.overrides.per_tenant_override_period > 0
      ? startOverridesReload(
          {
            path: resolve(overridesPath),
            periodMs: cfg.overrides.per_tenant_override_period,
            defaults: cfg.overrides.defaults,
            // A re-read file is held to start-up's checks: a hash rule whose key cannot be found makes
            // the file bad (the last good overrides stay) rather than refusing that tenant's pushes.
            parse: async (text, path, defaults) => {
              const parsed = await parseTenantOverridesIsolated(text, path, defaults);
              for (const [tenant, l] of Object.entries(parsed.tenants)) checkRedactionKey(l.redaction, `overrides.${tenant}.redaction`, process.env);
              return parsed;
            },
            apply: (tenants) => {
              cfg.overrides.per_tenant = tenants;
            },
            logger,
          },
          null,
        )
      : null;

  const blocklist = new Blocklist(backend, logger, tenantIndexPollingOf(cfg));
  // Tag lists of a block are read once and cached; reading them ahead keeps the first request fast.
  const warmTags = (tenant: string): void => {
    tags.warm(tenant).catch((err: unknown) => logger.warn({ err }, 'reading block tags failed'));
  };
  const ingester = new Ingester({
    ...ingesterOptions(cfg, storage, backend, logger),
    onBlockFlushed: (tenant, meta) => {
      blocklist.add(tenant, meta);
      warmTags(tenant);
    },
  });
  // Recent data and stored blocks: the querier's two block sources, each read across the tenants of
  // a cross-tenant query (`X-Scope-OrgID: a|b`).
  const sources = [federated(ingester), federated(blocklist)];
  const querier = new Querier(sources);
  const searcher = new Searcher(sources);
  const metricsQuerier = new MetricsQuerier(sources);
  const tags = new TagService(sources);
  // The metrics generator sees every accepted push; it does nothing for a tenant until its overrides name processors.
  const generator = createMetricsGenerator({
    config: cfg.metrics_generator,
    settings: (tenant) => generatorSettings(cfg, tenant),
    logger,
    multitenancy: cfg.multitenancy_enabled,
  });
  // Redaction runs first, so neither the generator nor the WAL ever sees what a rule removes.
  const pusher = redactionBefore(cfg, generator.tap(configuredDistributor(cfg, ingester)));

  const certificates = new CertificateWatchers(logger);

  // The API answers /ready with 503 while the WAL replays, so it starts first; /ready turns 200 only
  // once the OTLP receivers are bound as well, so a client told "ready" can connect.
  let receiversListening = false;
  const auth = startAuth(cfg.auth, logger);
  const services: Record<string, string> = { distributor: 'Starting', ingester: 'Starting', querier: 'Starting', compactor: 'Starting' };
  const api = await startApiServer({
    ...apiServerBase(cfg, { auth, certificates, logger, configYaml, services: () => services }),
    isReady: () => receiversListening && ingester.ready(),
    flush: () => ingester.flush(),
    findTraceById: (tenant, traceId, range, signal) => querier.findTraceById(tenant, traceId, range, signal),
    search: (tenant, req) => searcher.search(tenant, req),
    tagNames: (tenant, scopes, req) => tags.tagNames(tenant, scopes, req),
    tagValues: (tenant, tag, req) => tags.tagValues(tenant, tag, { ...req, maxBytes: tagValuesMaxBytes(cfg, tenant) }),
    generator,
    metricsQuery: (tenant, req) => metricsQuerier.query(tenant, req),
  });
  logger.info({ port: api.port }, 'HTTP API listening');

  await blocklist.start(Math.min(cfg.storage.trace.blocklist_poll, 30_000));
  void listTenants(backend).then(
    (ts) => ts.forEach(warmTags),
    // Only the warm-up is lost: the first tag request of each tenant reads its blocks' tag lists itself.
    (err: unknown) => logger.warn({ err }, 'listing tenants to warm tag caches failed'),
  );
  services['querier'] = 'Running';
  await ingester.start();
  services['ingester'] = 'Running';

  const receivers = await startReceivers(cfg, pusher, auth, certificates, logger);
  const { grpc, http } = receivers;
  services['distributor'] = 'Running';
  receiversListening = true;
  logger.info({ otlpGrpc: grpc?.port ?? null, otlpHttp: http?.port ?? null }, 'OTLP receivers listening');

  const compactor = startCompactor(backend, {
    ...compactorOptions(cfg, logger),
    onChange: () => {
      blocklist.poll().catch((err: unknown) => logger.error({ err }, 'blocklist poll failed'));
    },
  });
  services['compactor'] = 'Running';

  let stopping: Promise<void> | null = null;
  return {
    ports: { http: api.port, otlpGrpc: grpc?.port ?? null, otlpHttp: http?.port ?? null },
    stop() {
      stopping ??= (async () => {
        for (const k of Object.keys(services)) services[k] = 'Stopping';
        overridesReload?.stop();
        await receivers.close();
        generator.stop();
        auth?.stop();
        await compactor.stop();
        await ingester.stop();
        blocklist.stop();
        await api.close();
        certificates.close();
      })();
      return stopping;
    },
  };
}
