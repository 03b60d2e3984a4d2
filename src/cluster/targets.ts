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
  apiServerBase,
  apiSecurityOf,
  buildInfo,
  compactorOptions,
  configuredDistributor,
  httpListenerOf,
  ingesterOptions,
  openStorage,
  redactionBefore,
  startReceivers,
  tagValuesMaxBytes,
  type RunningApp,
} from '../app.js';
import { startAuth, type AuthRuntime } from '../auth/setup.js';
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
import { Blocklist, tenantIndexPollingOf } from '../querier/blocklist.js';
import { MetricsQuerier } from '../querier/metrics.js';
import { Querier } from '../querier/querier.js';
import { Searcher } from '../querier/search.js';
import { TagService } from '../querier/tags.js';
import { CertificateWatchers } from '../tls/certificate-watcher.js';
import { clientTlsSettings, grpcClientTlsSettings, grpcTlsSettings, type GrpcClientTls } from '../tls/settings.js';
import type { HttpListenerLimits } from '../util/http-listener.js';
import { Lifecycler, RingWatcher, connectEtcd, withEtcdLock } from './etcd-ring.js';
import { QueryFrontend } from './frontend.js';
import { createGeneratorForwarder } from './generator-forwarder.js';
import { querierHttp } from './querier-http.js';
import { registerQuerierRoutes, throttledRefresh } from './querier-routes.js';
import { IngestersSource } from './ingesters-source.js';
import { ReplicatedBlocks } from './replicated-blocks.js';
import { registerRingRoute, startOpsServer } from './ops-server.js';
import { createReplicatingPusher } from './replicating-pusher.js';
import { isHealthy, tokensFor, type ReplicaRules, type RingInstance, type RingView } from './ring.js';
import { IngesterClient, startIngesterRpcServer } from './rpc.js';

/** Ring names under kvstore.prefix. */
const RINGS = { ingester: 'ingester', querier: 'querier', generator: 'metrics-generator', distributor: 'distributor' } as const;

/** The ring settings every target reads (Tempo's ingester.lifecycler keys). */
export interface ClusterSettings {
  readonly endpoints: readonly string[];
  readonly prefix: string;
  readonly dialTimeoutMs: number;
  readonly etcdTls?: GrpcClientTls;
  /** This instance's availability zone ('' : none) and how ingester replicas are chosen. */
  readonly zone: string;
  readonly replicaRules: ReplicaRules;
  readonly etcdAuth?: { readonly username: string; readonly password: string };
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

/** TLS and auth to etcd from Tempo's kvstore.etcd keys, checked at start rather than at the first failed call. */
function etcdSecurity(e: RubatoConfig['ingester']['lifecycler']['ring']['kvstore']['etcd']): Pick<ClusterSettings, 'etcdTls' | 'etcdAuth'> {
  const key = 'ingester.lifecycler.ring.kvstore.etcd';
  if (e.tls_insecure_skip_verify) {
    throw new ConfigError(
      `${key}.tls_insecure_skip_verify: rubato always verifies etcd's certificate; set tls_ca_path to the CA that signed it`,
      `${key}.tls_insecure_skip_verify`,
    );
  }
  if ((e.username === '') !== (e.password === '')) throw new ConfigError(`${key}: username and password go together`, `${key}.username`);
  // A CA or client certificate alone also means TLS to etcd.
  const tls = clientTlsSettings(key, { ...e, tls_enabled: e.tls_enabled || e.tls_cert_path !== '' || e.tls_ca_path !== '' });
  return {
    ...(tls !== null ? { etcdTls: tls } : {}),
    ...(e.username !== '' ? { etcdAuth: { username: e.username, password: e.password } } : {}),
  };
}

/** Tempo's zone_awareness_enabled / excluded_zones; an ingester without a zone under zone awareness is refused. */
function replicaRules(cfg: RubatoConfig): ReplicaRules {
  const lc = cfg.ingester.lifecycler;
  const excludedZones = lc.ring.excluded_zones
    .split(',')
    .map((z) => z.trim())
    .filter((z) => z !== '');
  if (lc.ring.zone_awareness_enabled && cfg.target === 'ingester' && lc.availability_zone === '') {
    throw new ConfigError(
      'ingester.lifecycler.ring.zone_awareness_enabled is true but this ingester has no ingester.lifecycler.availability_zone: set its zone',
      'ingester.lifecycler.availability_zone',
    );
  }
  return { zoneAware: lc.ring.zone_awareness_enabled, excludedZones };
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
  return {
    endpoints: kv.etcd.endpoints,
    prefix: kv.prefix,
    dialTimeoutMs: kv.etcd.dial_timeout,
    ...etcdSecurity(kv.etcd),
    zone: lc.availability_zone,
    replicaRules: replicaRules(cfg),
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

/**
 * How the frontend dials queriers: plain HTTP, or HTTPS when queriers listen with server.http_tls_config,
 * trusting querier.frontend_worker.grpc_client_config's CA (the system's when its TLS is off).
 */
function querierTlsOf(cfg: RubatoConfig): GrpcClientTls | null {
  if (cfg.server.http_tls_config.cert_file === '') return null;
  return (
    grpcClientTlsSettings('querier.frontend_worker', cfg.querier.frontend_worker.grpc_client_config) ?? {
      ca: null,
      cert: null,
      key: null,
      serverName: '',
      insecureSkipVerify: false,
    }
  );
}

/** One client per ingester address, reused across requests. */
class ClientPool {
  private readonly clients = new Map<string, IngesterClient>();
  constructor(
    private readonly maxMessageBytes: number,
    private readonly tls: GrpcClientTls | null = null,
  ) {}
  get(inst: RingInstance): IngesterClient {
    let c = this.clients.get(inst.addr);
    if (c === undefined) this.clients.set(inst.addr, (c = new IngesterClient(inst.addr, this.maxMessageBytes, this.tls)));
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
  // Access control and TLS listeners as in one process; every target's HTTP port carries both.
  const auth = startAuth(cfg.auth, logger);
  const certificates = new CertificateWatchers(logger);
  // The ops port (every target but the querier, whose API port has all of it): TLS and the gate, no streaming.
  const opsSecurity = () => {
    const { tls, gate } = apiSecurityOf(cfg, auth, certificates);
    return { ...(tls !== undefined ? { tls } : {}), gate };
  };
  const etcd = connectEtcd({
    endpoints: cs.endpoints,
    prefix: cs.prefix,
    dialTimeoutMs: cs.dialTimeoutMs,
    ...(cs.etcdTls !== undefined ? { tls: cs.etcdTls } : {}),
    ...(cs.etcdAuth !== undefined ? { auth: cs.etcdAuth } : {}),
  });
  const watchers: RingWatcher[] = [];
  const watch = async (ring: string): Promise<RingWatcher> => {
    // Zone awareness and excluded zones decide the ingesters' replicas; the other rings are lists.
    const w = new RingWatcher(etcd, `${cs.prefix}${ring}/`, logger, ring === RINGS.ingester ? cs.replicaRules : {});
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
    auth,
    certificates,
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
        ...opsSecurity(),
        host: cfg.server.http_listen_address,
        port: cfg.server.http_listen_port,
        listener: httpListener(cfg),
        isReady,
        configYaml: () => configYaml,
        flush,
        buildInfo: buildInfo(),
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
    auth?.stop();
    certificates.close();
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
        auth?.stop();
        certificates.close();
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
  /** Access control (auth.enabled), null when off. */
  auth: AuthRuntime | null;
  /** The process's TLS certificate watchers, closed when it stops. */
  certificates: CertificateWatchers;
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
    {
      id: c.cs.id,
      addr: `${c.cs.address}:${c.cs.grpcPort}`,
      httpAddr: `${c.cs.address}:${httpPort}`,
      tokens: tokens > 0 ? tokensFor(c.cs.id, tokens) : [],
      ...(c.cs.zone !== '' ? { zone: c.cs.zone } : {}),
    },
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
    ...c.certificates.for(grpcTlsSettings(cfg.server)),
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
  const pool = new ClientPool(MAX_INTERNAL_MSG(cfg), grpcClientTlsSettings('ingester_client', cfg.ingester_client.grpc_client_config));
  // Generators are dialled with their own client block, as Tempo's metrics_generator_client.
  const generatorPool = new ClientPool(
    MAX_INTERNAL_MSG(cfg),
    grpcClientTlsSettings('metrics_generator_client', cfg.metrics_generator_client.grpc_client_config),
  );
  const pushTimeoutMs = 10_000;
  const replicated = createReplicatingPusher({
    ring: () => ring.view(),
    replicationFactor: cs.replicationFactor,
    heartbeatTimeoutMs: cs.heartbeatTimeoutMs,
    send: (inst, tenant, payload) => pool.get(inst).push(tenant, payload, pushTimeoutMs),
  });
  // Accepted pushes also go to metrics generators, each trace to the one owning its token, best effort:
  // the generator is derived data and never holds up an acknowledgement.
  const forward = createGeneratorForwarder({
    ring: () => generators.view(),
    heartbeatTimeoutMs: cs.heartbeatTimeoutMs,
    send: (inst, tenant, payload) => generatorPool.get(inst).push(tenant, payload, pushTimeoutMs),
    logger,
  });
  const toGenerators: Pusher = {
    async push(batch) {
      const r = await replicated.push(batch);
      forward(batch, r);
      return r;
    },
  };
  // Distributors see each other in a ring of their own: a tenant's `global` rate limit is shared among the healthy ones.
  const distributors = await c.watch(RINGS.distributor);
  const healthyDistributors = (): number => distributors.view().instances.filter((i) => isHealthy(i, Date.now(), cs.heartbeatTimeoutMs)).length;
  // As in one process: redaction before anything leaves the distributor (ingesters' WALs, generators).
  const pusher = redactionBefore(cfg, configuredDistributor(cfg, toGenerators, healthyDistributors));
  let listening = false;
  const ops = await c.ops(
    () => listening && ring.view().instances.some((i) => isHealthy(i, Date.now(), cs.heartbeatTimeoutMs)),
    () => ({ ingester: ring.view(), 'metrics-generator': generators.view(), distributor: distributors.view() }),
  );
  const lc = lifecycler(c, RINGS.distributor, 0, ops.port);
  await lc.start();
  await lc.setState('ACTIVE');
  // The receivers exactly as in one process: TLS blocks, write tokens, in-flight budget, connections.
  const { grpc, http, close: closeReceivers } = await startReceivers(cfg, pusher, c.auth, c.certificates, logger);
  listening = true;
  return {
    ports: { http: ops.port, otlpGrpc: grpc?.port ?? null, otlpHttp: http?.port ?? null },
    async stop() {
      await closeReceivers();
      await lc.stop();
      pool.close();
      generatorPool.close();
      await ops.close();
    },
  };
}

// ------------------------------------------------------------------------------------------- querier

async function startQuerierTarget(c: Common): Promise<Running> {
  const { cfg, cs, logger } = c;
  const { backend } = openStorage(cfg);
  const ring = await c.watch(RINGS.ingester);
  const pool = new ClientPool(MAX_INTERNAL_MSG(cfg), grpcClientTlsSettings('ingester_client', cfg.ingester_client.grpc_client_config));
  const blocklist = new Blocklist(backend, logger, tenantIndexPollingOf(cfg));
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
    // TLS, access control and streaming as in one process; the gate covers every route, frontend calls included.
    ...apiServerBase(cfg, { auth: c.auth, certificates: c.certificates, logger, configYaml: c.configYaml, services: () => c.services }),
    isReady: () => ready,
    flush: async () => undefined,
    findTraceById: (tenant, traceId, range, signal) => querier.findTraceById(tenant, traceId, range, signal),
    search: (tenant, req) => searcher.search(tenant, req),
    tagNames: (tenant, scopes, req) => tags.tagNames(tenant, scopes, req),
    tagValues: (tenant, tag, req) => tags.tagValues(tenant, tag, { ...req, maxBytes: tagValuesMaxBytes(cfg, tenant) }),
    generator: null,
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
        maxTagValueBytes: (tenant) => tagValuesMaxBytes(cfg, tenant),
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
  const queriers = await c.watch(RINGS.querier);
  const ingesters = await c.watch(RINGS.ingester);
  const healthy = () => queriers.view().instances.filter((i) => isHealthy(i, Date.now(), cs.heartbeatTimeoutMs));
  // The frontend plans search jobs from the block list itself, as Tempo's does; it opens no block.
  const blocklist = new Blocklist(backend, logger, tenantIndexPollingOf(cfg));
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
    http: querierHttp(querierTlsOf(cfg)),
    logger,
  });
  const api = await startApiServer({
    // Grafana's entry: TLS, the token gate and streaming as in one process; each job carries the caller's token.
    ...apiServerBase(cfg, { auth: c.auth, certificates: c.certificates, logger, configYaml: c.configYaml, services: () => c.services }),
    isReady: () => healthy().length > 0,
    flush: async () => undefined,
    findTraceById: (tenant, traceId, range, signal) => frontend.findTraceById(tenant, traceId, range, signal),
    search: (tenant, req) => frontend.search(tenant, req),
    tagNames: (tenant, scopes, req) => frontend.tagNames(tenant, scopes, req),
    tagValues: (tenant, tag, req) => frontend.tagValues(tenant, tag, req),
    generator: null,
    metricsQuery: (tenant, req) => frontend.metricsQuery(tenant, req),
    routes: (app) => registerRingRoute(app, () => ({ ingester: ingesters.view(), querier: queriers.view() }), cs.heartbeatTimeoutMs),
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
    // The tenant index has one builder at a time too, elected by a lock of its own.
    indexExclusive: (run) => withEtcdLock(etcd, `${cs.prefix}compactor/tenant-index-lock`, lockTtl, run),
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
    ...c.certificates.for(grpcTlsSettings(cfg.server)),
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
