/**
 * Tempo's -target modes other than `all`: each module as its own process with the same config file,
 * sharing object storage and an ingester ring in etcd (see README "Distributed mode"):
 * - distributor: OTLP receivers; routes each trace to replication_factor ingesters, acknowledges on a write quorum
 * - ingester: WAL, head blocks, flush to the backend; internal gRPC (Push, FindTrace, RecentTraces)
 * - querier: the HTTP query API over the ingesters' recent data and the backend's blocks
 * - query-frontend: the HTTP query API, searches and metrics split into jobs for the queriers (frontend.ts)
 * - compactor: compaction and retention, one compactor at a time (etcd lock)
 * - metrics-generator: span metrics and service graphs from what distributors forward to it
 * `all` stays app.ts's single process with in-process calls.
 */
import { hostname, networkInterfaces } from 'node:os';
import type { Etcd3 } from 'etcd3';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import {
  compactorOptions,
  configuredDistributor,
  httpListenerOf,
  ingesterOptions,
  openStorage,
  packageVersion,
  receiverGrpcConnectionOf,
  redactionBefore,
  type RunningApp,
} from '../app.js';
import { listTenants } from '../block/listing.js';
import { registerGeneratorRoutes } from '../api/generator-routes.js';
import { startApiServer } from '../api/server.js';
import { startCompactor } from '../compactor/compactor.js';
import { ConfigError, type RubatoConfig, type Target } from '../config/schema.js';
import { createMetricsGenerator } from '../generator/generator.js';
import { Ingester } from '../ingester/ingester.js';
import { enableProcessMetrics } from '../metrics/registry.js';
import { ACCEPTED_ALL, type Pusher } from '../model/pusher.js';
import { tenantsOf } from '../model/tenant.js';
import { generatorSettings } from '../overrides/generator.js';
import { tenantLimits } from '../overrides/limits.js';
import { Blocklist } from '../querier/blocklist.js';
import { MetricsQuerier } from '../querier/metrics.js';
import { Querier } from '../querier/querier.js';
import { Searcher } from '../querier/search.js';
import { TagService } from '../querier/tags.js';
import { startGrpcReceiver } from '../receivers/grpc.js';
import { startHttpReceiver } from '../receivers/http.js';
import { InflightBudget } from '../receivers/inflight.js';
import type { HttpListenerLimits } from '../util/http-listener.js';
import { Lifecycler, RingWatcher, connectEtcd, withEtcdLock } from './etcd-ring.js';
import { QueryFrontend } from './frontend.js';
import { registerQuerierRoutes, throttledRefresh } from './querier-routes.js';
import { IngestersSource } from './ingesters-source.js';
import { ReplicatedBlocks } from './replicated-blocks.js';
import { ringStatus, startOpsServer } from './ops-server.js';
import { createReplicatingPusher } from './replicating-pusher.js';
import { isHealthy, tokensFor, traceToken, type RingInstance, type RingView } from './ring.js';
import { IngesterClient, startIngesterRpcServer } from './rpc.js';

/** Ring names under kvstore.prefix. */
const RINGS = { ingester: 'ingester', querier: 'querier', generator: 'metrics-generator' } as const;

/** The ring settings every target reads (Tempo's ingester.lifecycler keys). */
export interface ClusterSettings {
  readonly endpoints: readonly string[];
  readonly prefix: string;
  readonly dialTimeoutMs: number;
  readonly replicationFactor: number;
  readonly heartbeatPeriodMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly numTokens: number;
  /** Instance ID, address others reach this process at, its gRPC and HTTP ports. */
  readonly id: string;
  readonly address: string;
  readonly grpcPort: number;
  readonly httpPort: number;
}

function firstIPv4(): string {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}

/**
 * Settings the single process honours and the distributed targets do not carry yet: refused at start
 * with the key's name, so a cluster never runs without the TLS or access control its config asks for.
 * (Redaction, max_attribute_bytes and the OTLP/HTTP body limit are applied by the distributor target.)
 */
function refuseSingleProcessOnly(cfg: RubatoConfig): void {
  const protocols = cfg.distributor.receivers.otlp.protocols;
  const unsupported: [boolean, string][] = [
    [cfg.auth.enabled, 'auth.enabled'],
    [cfg.server.http_tls_config.cert_file !== '', 'server.http_tls_config'],
    [protocols.grpc?.tls !== undefined, 'distributor.receivers.otlp.protocols.grpc.tls'],
    [protocols.http?.tls !== undefined, 'distributor.receivers.otlp.protocols.http.tls'],
    [cfg.stream_over_http_enabled, 'stream_over_http_enabled'],
  ];
  for (const [set, key] of unsupported) {
    if (set) throw new ConfigError(`-target=${cfg.target}: ${key} is supported with -target=all only so far; remove it or run one process`, key);
  }
}

/** Reads the ring settings; a distributed target without an etcd ring is a clear error at start. */
export function clusterSettings(cfg: RubatoConfig): ClusterSettings {
  const lc = cfg.ingester.lifecycler;
  const kv = lc.ring.kvstore;
  if (kv.store !== 'etcd') {
    throw new ConfigError(
      `-target=${cfg.target} needs the ingester ring in etcd: set ingester.lifecycler.ring.kvstore.store: etcd and ...kvstore.etcd.endpoints (rubato has no ${kv.store} ring yet)`,
      'ingester.lifecycler.ring.kvstore.store',
    );
  }
  if (kv.etcd.endpoints.length === 0) {
    throw new ConfigError(
      `-target=${cfg.target}: ingester.lifecycler.ring.kvstore.etcd.endpoints is empty: list the etcd client URLs`,
      'ingester.lifecycler.ring.kvstore.etcd.endpoints',
    );
  }
  refuseSingleProcessOnly(cfg);
  return {
    endpoints: kv.etcd.endpoints,
    prefix: kv.prefix,
    dialTimeoutMs: kv.etcd.dial_timeout,
    replicationFactor: lc.ring.replication_factor,
    heartbeatPeriodMs: Math.max(100, lc.heartbeat_period),
    heartbeatTimeoutMs: lc.ring.heartbeat_timeout,
    numTokens: lc.num_tokens,
    id: lc.id !== '' ? lc.id : hostname(),
    address: lc.address !== '' ? lc.address : firstIPv4(),
    grpcPort: lc.port !== 0 ? lc.port : cfg.server.grpc_listen_port,
    httpPort: cfg.server.http_listen_port,
  };
}

const httpListener = (cfg: RubatoConfig): HttpListenerLimits => httpListenerOf(cfg.server);

/** One client per ingester address, reused across requests. */
class ClientPool {
  private readonly clients = new Map<string, IngesterClient>();
  constructor(private readonly maxMessageBytes: number) {}
  get(inst: RingInstance): IngesterClient {
    let c = this.clients.get(inst.addr);
    if (c === undefined) this.clients.set(inst.addr, (c = new IngesterClient(inst.addr, this.maxMessageBytes)));
    return c;
  }
  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

interface Running {
  readonly ports: RunningApp['ports'];
  stop(): Promise<void>;
}

/** Starts the process for `cfg.target` (anything but `all`). */
export async function startTarget(cfg: RubatoConfig, configYaml: string, logger: Logger): Promise<RunningApp> {
  enableProcessMetrics();
  const cs = clusterSettings(cfg);
  const etcd = connectEtcd({ endpoints: cs.endpoints, prefix: cs.prefix, dialTimeoutMs: cs.dialTimeoutMs });
  const watchers: RingWatcher[] = [];
  const watch = async (ring: string): Promise<RingWatcher> => {
    const w = new RingWatcher(etcd, `${cs.prefix}${ring}/`, logger);
    await w.start();
    watchers.push(w);
    return w;
  };
  const target = cfg.target as Exclude<Target, 'all'>;
  const services: Record<string, string> = { [target]: 'Starting' };
  const common = {
    cfg,
    cs,
    etcd,
    logger,
    services,
    watch,
    configYaml,
    ops: (
      isReady: () => boolean,
      rings: () => Record<string, RingView>,
      flush: () => Promise<void> = async () => undefined,
      extra?: (app: FastifyInstance) => void,
    ) =>
      startOpsServer({
        ...(extra !== undefined ? { extra } : {}),
        host: cfg.server.http_listen_address,
        port: cfg.server.http_listen_port,
        listener: httpListener(cfg),
        isReady,
        configYaml: () => configYaml,
        flush,
        buildInfo: { version: packageVersion(), revision: process.env['RUBATO_REVISION'] ?? 'unknown', branch: 'main', buildDate: '' },
        services: () => services,
        rings,
        heartbeatTimeoutMs: cs.heartbeatTimeoutMs,
      }),
  };
  let running: Running;
  try {
    const start = {
      distributor: startDistributor,
      ingester: startIngesterTarget,
      querier: startQuerierTarget,
      'query-frontend': startFrontend,
      compactor: startCompactorTarget,
      'metrics-generator': startGeneratorTarget,
    }[target];
    running = await start(common);
  } catch (err) {
    for (const w of watchers) await w.stop();
    etcd.close();
    throw err;
  }
  services[target] = 'Running';
  logger.info({ target, id: cs.id, ports: running.ports }, 'target started');
  let stopping: Promise<void> | null = null;
  return {
    ports: running.ports,
    stop() {
      stopping ??= (async () => {
        services[target] = 'Stopping';
        await running.stop();
        for (const w of watchers) await w.stop();
        etcd.close();
      })();
      return stopping;
    },
  };
}

type Common = {
  cfg: RubatoConfig;
  cs: ClusterSettings;
  etcd: Etcd3;
  logger: Logger;
  services: Record<string, string>;
  watch: (ring: string) => Promise<RingWatcher>;
  configYaml: string;
  ops: (
    isReady: () => boolean,
    rings: () => Record<string, RingView>,
    flush?: () => Promise<void>,
    extra?: (app: FastifyInstance) => void,
  ) => Promise<{ port: number; close(): Promise<void> }>;
};

function lifecycler(c: Common, ring: string, tokens: number, httpPort: number): Lifecycler {
  return new Lifecycler(
    c.etcd,
    `${c.cs.prefix}${ring}/`,
    { id: c.cs.id, addr: `${c.cs.address}:${c.cs.grpcPort}`, httpAddr: `${c.cs.address}:${httpPort}`, tokens: tokens > 0 ? tokensFor(c.cs.id, tokens) : [] },
    c.cs.heartbeatPeriodMs,
    c.cs.heartbeatTimeoutMs,
    c.logger,
  );
}

const MAX_INTERNAL_MSG = (cfg: RubatoConfig): number => Math.max(cfg.server.grpc_server_max_recv_msg_size, cfg.server.grpc_server_max_send_msg_size);

// ------------------------------------------------------------------------------------------ ingester

async function startIngesterTarget(c: Common): Promise<Running> {
  const { cfg, logger } = c;
  const { storage, backend } = openStorage(cfg);
  const ingester = new Ingester({
    ...ingesterOptions(cfg, storage, backend, logger),
    // Queriers learn of a flushed block at their next block-list poll: until then it is read from here.
    completeBlockTimeoutMs: cfg.ingester.complete_block_timeout,
  });
  const ring = await c.watch(RINGS.ingester);
  const ops = await c.ops(
    () => ingester.ready(),
    () => ({ ingester: ring.view() }),
    () => ingester.flush(),
  );
  const rpc = await startIngesterRpcServer({
    host: cfg.server.grpc_listen_address,
    port: c.cs.grpcPort,
    maxRecvBytes: cfg.server.grpc_server_max_recv_msg_size,
    maxSendBytes: cfg.server.grpc_server_max_send_msg_size,
    ingester,
    logger,
  });
  const lc = lifecycler(c, RINGS.ingester, c.cs.numTokens, ops.port);
  // JOINING while the WAL replays (writes to it count as failed replicas), ACTIVE once it takes pushes.
  await lc.start();
  await ingester.start();
  await lc.setState('ACTIVE');
  return {
    ports: { http: ops.port, otlpGrpc: null, otlpHttp: null },
    async stop() {
      // LEAVING first, so distributors stop choosing it while it flushes.
      await lc.setState('LEAVING').catch((err: unknown) => logger.warn({ err: String(err) }, 'could not mark LEAVING'));
      await ingester.stop();
      await rpc.close();
      await lc.stop();
      await ops.close();
    },
  };
}

// --------------------------------------------------------------------------------------- distributor

async function startDistributor(c: Common): Promise<Running> {
  const { cfg, cs, logger } = c;
  const ring = await c.watch(RINGS.ingester);
  const generators = await c.watch(RINGS.generator);
  const pool = new ClientPool(MAX_INTERNAL_MSG(cfg));
  const pushTimeoutMs = 10_000;
  const replicated = createReplicatingPusher({
    ring: () => ring.view(),
    replicationFactor: cs.replicationFactor,
    heartbeatTimeoutMs: cs.heartbeatTimeoutMs,
    send: (inst, tenant, payload) => pool.get(inst).push(tenant, payload, pushTimeoutMs),
  });
  // Accepted pushes also go to one metrics generator (by trace token), best effort: the generator is
  // derived data and never holds up an acknowledgement.
  const toGenerators: Pusher = {
    async push(batch) {
      const r = await replicated.push(batch);
      const view = generators.view();
      if (view.instances.length > 0 && batch.spans.length > 0) {
        const owner = view.replicasFor(traceToken(batch.tenant, batch.spans[0]!.traceId), 1)[0];
        if (owner !== undefined && isHealthy(owner, Date.now(), cs.heartbeatTimeoutMs)) {
          pool
            .get(owner)
            .push(batch.tenant, batch.payload, pushTimeoutMs)
            .catch((err: unknown) => logger.warn({ err: String(err), generator: owner.id }, 'forwarding to the metrics generator failed'));
        }
      }
      return r;
    },
  };
  // As in one process: redaction before anything leaves the distributor (ingesters' WALs, generators).
  const pusher = redactionBefore(cfg, configuredDistributor(cfg, toGenerators));
  let listening = false;
  const ops = await c.ops(
    () => listening && ring.view().instances.some((i) => isHealthy(i, Date.now(), cs.heartbeatTimeoutMs)),
    () => ({ ingester: ring.view(), 'metrics-generator': generators.view() }),
  );
  const srv = cfg.server;
  const protocols = cfg.distributor.receivers.otlp.protocols;
  const inflight = new InflightBudget(cfg.distributor.max_inflight_bytes);
  const grpc =
    protocols.grpc === null
      ? null
      : await startGrpcReceiver({
          endpoint: protocols.grpc.endpoint,
          maxRecvBytes: protocols.grpc.max_recv_msg_size_mib * 1024 * 1024,
          multitenancy: cfg.multitenancy_enabled,
          pusher,
          logger,
          inflight,
          connection: receiverGrpcConnectionOf(srv),
        });
  const http =
    protocols.http === null
      ? null
      : await startHttpReceiver({
          endpoint: protocols.http.endpoint,
          maxBodyBytes: protocols.http.max_request_body_size,
          multitenancy: cfg.multitenancy_enabled,
          pusher,
          logger,
          inflight,
          listener: httpListener(cfg),
        });
  listening = true;
  return {
    ports: { http: ops.port, otlpGrpc: grpc?.port ?? null, otlpHttp: http?.port ?? null },
    async stop() {
      await Promise.allSettled([grpc?.close(), http?.close()]);
      pool.close();
      await ops.close();
    },
  };
}

// ------------------------------------------------------------------------------------------- querier

async function startQuerierTarget(c: Common): Promise<Running> {
  const { cfg, cs, logger } = c;
  const { backend } = openStorage(cfg);
  const limits = (tenant: string) => tenantLimits(cfg, tenant);
  const ring = await c.watch(RINGS.ingester);
  const pool = new ClientPool(MAX_INTERNAL_MSG(cfg));
  const blocklist = new Blocklist(backend, logger);
  const recent = new IngestersSource({
    ring: () => ring.view(),
    client: (inst) => pool.get(inst),
    replicationFactor: cs.replicationFactor,
    heartbeatTimeoutMs: cs.heartbeatTimeoutMs,
    timeoutMs: cfg.querier.search.query_timeout,
    logger,
  });
  // Replicas flushed by each ingester are alike until compacted: metrics must count their spans once.
  const sources = [recent, cs.replicationFactor > 1 ? new ReplicatedBlocks(blocklist) : blocklist];
  const querier = new Querier(sources);
  const searcher = new Searcher(sources);
  const metricsQuerier = new MetricsQuerier(sources);
  const tags = new TagService(sources);
  let ready = false;
  const api = await startApiServer({
    host: cfg.server.http_listen_address,
    port: cfg.server.http_listen_port,
    listener: httpListener(cfg),
    logger,
    multitenancy: cfg.multitenancy_enabled,
    isReady: () => ready,
    configYaml: () => c.configYaml,
    flush: async () => undefined,
    buildInfo: { version: packageVersion(), revision: process.env['RUBATO_REVISION'] ?? 'unknown', branch: 'main', buildDate: '' },
    services: () => c.services,
    findTraceById: (tenant, traceId, range, signal) => querier.findTraceById(tenant, traceId, range, signal),
    traceByIdTimeoutMs: cfg.querier.trace_by_id.query_timeout,
    searchTimeoutMs: cfg.querier.search.query_timeout,
    maxSearchDurationMs: (tenant) => limits(tenant).read.max_search_duration || cfg.query_frontend.search.max_duration,
    searchLimits: {
      defaultLimit: cfg.query_frontend.search.default_result_limit,
      maxLimit: cfg.query_frontend.search.max_result_limit,
      defaultSpss: cfg.query_frontend.search.default_spans_per_span_set,
      maxSpss: cfg.query_frontend.search.max_spans_per_span_set,
      maxResponseBytes: cfg.query_frontend.search.max_response_bytes,
      maxQueryBytes: cfg.query_frontend.max_query_expression_size_bytes,
    },
    search: (tenant, req) => searcher.search(tenant, req),
    tagNames: (tenant, scopes, req) => tags.tagNames(tenant, scopes, req),
    tagValues: (tenant, tag, req) => tags.tagValues(tenant, tag, { ...req, maxBytes: limits(tenant).read.max_bytes_per_tag_values_query }),
    generator: null,
    metricsLimits: {
      maxDurationMs: cfg.query_frontend.metrics.max_duration,
      maxExemplars: cfg.query_frontend.metrics.max_exemplars,
      maxIntervals: 10_000,
      maxResponseSeries: cfg.query_frontend.metrics.max_response_series,
    },
    metricsQuery: (tenant, req) => metricsQuerier.query(tenant, req),
    // The query frontend's jobs (see querier-routes.ts).
    routes: (app) =>
      registerQuerierRoutes(app, {
        multitenancy: cfg.multitenancy_enabled,
        recent,
        stored: sources[1]!,
        refreshBlocks: throttledRefresh(() => blocklist.poll(), 2_000),
        searchTimeoutMs: cfg.querier.search.query_timeout,
        traceByIdTimeoutMs: cfg.querier.trace_by_id.query_timeout,
        maxTagValueBytes: (tenant) => limits(tenant).read.max_bytes_per_tag_values_query,
        logger,
      }),
  });
  await blocklist.start(Math.min(cfg.storage.trace.blocklist_poll, 30_000));
  void listTenants(backend).then(
    (ts) => {
      for (const t of ts) tags.warm(t).catch((err: unknown) => logger.warn({ err }, 'reading block tags failed'));
    },
    (err: unknown) => logger.warn({ err: String(err) }, 'listing tenants failed'),
  );
  // Registered (without tokens) so query frontends find it.
  const lc = lifecycler(c, RINGS.querier, 0, api.port);
  await lc.start();
  await lc.setState('ACTIVE');
  ready = true;
  return {
    ports: { http: api.port, otlpGrpc: null, otlpHttp: null },
    async stop() {
      await lc.setState('LEAVING').catch((err: unknown) => logger.warn({ err: String(err) }, 'could not mark LEAVING'));
      await lc.stop();
      blocklist.stop();
      pool.close();
      await api.close();
    },
  };
}

// ------------------------------------------------------------------------------------ query-frontend

async function startFrontend(c: Common): Promise<Running> {
  const { cfg, cs, logger } = c;
  const { backend } = openStorage(cfg);
  const limits = (tenant: string) => tenantLimits(cfg, tenant);
  const queriers = await c.watch(RINGS.querier);
  const ingesters = await c.watch(RINGS.ingester);
  const healthy = () => queriers.view().instances.filter((i) => isHealthy(i, Date.now(), cs.heartbeatTimeoutMs));
  // The frontend plans search jobs from the block list itself, as Tempo's does; it opens no block.
  const blocklist = new Blocklist(backend, logger);
  await blocklist.start(Math.min(cfg.storage.trace.blocklist_poll, 30_000));
  const qf = cfg.query_frontend;
  // Ingesters answer for flushed data only until complete_block_timeout: stored blocks must be read
  // for anything older, whatever query_backend_after says, or searches would miss it.
  const backendAfterMs = Math.min(qf.search.query_backend_after, cfg.ingester.complete_block_timeout);
  if (backendAfterMs < qf.search.query_backend_after) {
    logger.warn(
      { query_backend_after: qf.search.query_backend_after, complete_block_timeout: cfg.ingester.complete_block_timeout },
      'query_frontend.search.query_backend_after is longer than ingester.complete_block_timeout; searching stored blocks from complete_block_timeout on',
    );
  }
  const frontend = new QueryFrontend({
    queriers: healthy,
    blocks: (tenant) =>
      tenantsOf(tenant).flatMap((t) =>
        blocklist.metas(t).map((m) => ({ id: m.blockID, startMs: Date.parse(m.startTime), endMs: Date.parse(m.endTime), bytes: m.size })),
      ),
    refreshBlocks: throttledRefresh(() => blocklist.poll(), 2_000),
    search: {
      concurrentJobs: qf.search.concurrent_jobs,
      targetBytesPerJob: qf.search.target_bytes_per_job,
      queryBackendAfterMs: backendAfterMs,
      queryIngestersUntilMs: qf.search.query_ingesters_until,
    },
    metrics: {
      intervalMs: qf.metrics.interval,
      concurrentJobs: qf.metrics.concurrent_jobs,
      queryBackendAfterMs: qf.metrics.query_backend_after,
    },
    maxRetries: qf.max_retries,
    timeoutMs: Math.max(cfg.querier.search.query_timeout, cfg.querier.trace_by_id.query_timeout) + 5_000,
    logger,
  });
  const api = await startApiServer({
    host: cfg.server.http_listen_address,
    port: cfg.server.http_listen_port,
    listener: httpListener(cfg),
    logger,
    multitenancy: cfg.multitenancy_enabled,
    isReady: () => healthy().length > 0,
    configYaml: () => c.configYaml,
    flush: async () => undefined,
    buildInfo: { version: packageVersion(), revision: process.env['RUBATO_REVISION'] ?? 'unknown', branch: 'main', buildDate: '' },
    services: () => c.services,
    findTraceById: (tenant, traceId, range, signal) => frontend.findTraceById(tenant, traceId, range, signal),
    traceByIdTimeoutMs: cfg.querier.trace_by_id.query_timeout,
    searchTimeoutMs: cfg.querier.search.query_timeout,
    maxSearchDurationMs: (tenant) => limits(tenant).read.max_search_duration || qf.search.max_duration,
    searchLimits: {
      defaultLimit: qf.search.default_result_limit,
      maxLimit: qf.search.max_result_limit,
      defaultSpss: qf.search.default_spans_per_span_set,
      maxSpss: qf.search.max_spans_per_span_set,
      maxResponseBytes: qf.search.max_response_bytes,
      maxQueryBytes: qf.max_query_expression_size_bytes,
    },
    search: (tenant, req) => frontend.search(tenant, req),
    tagNames: (tenant, scopes, req) => frontend.tagNames(tenant, scopes, req),
    tagValues: (tenant, tag, req) => frontend.tagValues(tenant, tag, req),
    generator: null,
    metricsLimits: {
      maxDurationMs: qf.metrics.max_duration,
      maxExemplars: qf.metrics.max_exemplars,
      maxIntervals: 10_000,
      maxResponseSeries: qf.metrics.max_response_series,
    },
    metricsQuery: (tenant, req) => frontend.metricsQuery(tenant, req),
    routes: (app) =>
      app.get('/ring', async (req, reply) => {
        const json = (req.headers.accept ?? '').includes('application/json');
        return reply
          .type(json ? 'application/json' : 'text/plain; charset=utf-8')
          .send(ringStatus({ ingester: ingesters.view(), querier: queriers.view() }, cs.heartbeatTimeoutMs, json));
      }),
  });
  return {
    ports: { http: api.port, otlpGrpc: null, otlpHttp: null },
    async stop() {
      blocklist.stop();
      await api.close();
    },
  };
}

// ----------------------------------------------------------------------------------------- compactor

async function startCompactorTarget(c: Common): Promise<Running> {
  const { cfg, logger, etcd, cs } = c;
  const { backend } = openStorage(cfg);
  const ops = await c.ops(
    () => true,
    () => ({}),
  );
  // One pass at a time across every compactor: the lock's lease dies with a killed holder.
  const lockTtl = Math.max(5, Math.ceil(cs.heartbeatTimeoutMs / 1000));
  const compactor = startCompactor(backend, {
    ...compactorOptions(cfg, logger),
    exclusive: (run) => withEtcdLock(etcd, `${cs.prefix}compactor/lock`, lockTtl, run),
  });
  return {
    ports: { http: ops.port, otlpGrpc: null, otlpHttp: null },
    async stop() {
      await compactor.stop();
      await ops.close();
    },
  };
}

// --------------------------------------------------------------------------------- metrics-generator

async function startGeneratorTarget(c: Common): Promise<Running> {
  const { cfg, logger } = c;
  const generator = createMetricsGenerator({
    config: cfg.metrics_generator,
    settings: (tenant) => generatorSettings(cfg, tenant),
    logger,
    multitenancy: cfg.multitenancy_enabled,
  });
  // Distributors forward accepted pushes here over the ingesters' Push method; nothing is stored.
  const sink = generator.tap({ push: async () => ACCEPTED_ALL });
  const ring = await c.watch(RINGS.generator);
  const ops = await c.ops(
    () => true,
    () => ({ 'metrics-generator': ring.view() }),
    undefined,
    // Its series (/metrics/generator, for Prometheus to scrape) and service graph live in this process.
    (app) => registerGeneratorRoutes(app, { multitenancy: cfg.multitenancy_enabled, generator }),
  );
  const rpc = await startIngesterRpcServer({
    host: cfg.server.grpc_listen_address,
    port: c.cs.grpcPort,
    maxRecvBytes: cfg.server.grpc_server_max_recv_msg_size,
    maxSendBytes: cfg.server.grpc_server_max_send_msg_size,
    ingester: { push: (b) => sink.push(b), blocks: async () => [] },
    logger,
  });
  const lc = lifecycler(c, RINGS.generator, c.cs.numTokens, ops.port);
  await lc.start();
  await lc.setState('ACTIVE');
  return {
    ports: { http: ops.port, otlpGrpc: null, otlpHttp: null },
    async stop() {
      await lc.stop();
      await rpc.close();
      generator.stop();
      await ops.close();
    },
  };
}
