/**
 * The metrics-generator module: sees every accepted push (a tap around the distributor's Pusher),
 * runs the tenant's processors (span metrics, service graphs) on the still-encoded spans, and offers
 * the series two ways: a scrape exposition and remote write through bounded queues. It never holds up
 * or fails a push: its errors are logged and counted.
 */
import type { Logger } from 'pino';
import type { MetricsGeneratorConfig, RemoteWriteConfig } from '../config/schema.js';
import type { PushBatch, SpanEntry } from '../model/batch.js';
import type { Pusher, PushResult } from '../model/pusher.js';
import type { GeneratorTenantSettings } from '../overrides/generator.js';
import { renderExposition, type ExtraLabels, type RenderSource } from './exposition.js';
import { GraphStore, type ServiceGraph } from './graph-store.js';
import { SeriesRegistry } from './registry.js';
import { RemoteWriteQueue } from './remote-queue.js';
import { encodeRegistry } from './remote-write.js';
import { ResourceCache } from './resource-info.js';
import { generatorMetrics as gm } from './self-metrics.js';
import { ServiceGraphs, serviceGraphsKeys } from './service-graphs.js';
import { ATTRS_ALL_KINDS, SpanFields, WantedKeys, readSpanFields } from './span-fields.js';
import { SPAN_KIND_CLIENT, SPAN_KIND_CONSUMER, SPAN_KIND_PRODUCER, SPAN_KIND_SERVER } from './span-names.js';
import { SpanMetrics, spanMetricsKeys } from './span-metrics.js';

export interface GeneratorOptions {
  readonly config: MetricsGeneratorConfig;
  readonly settings: (tenant: string) => GeneratorTenantSettings;
  readonly logger: Logger;
  /** Adds a `tenant` label when one scrape shows several tenants. */
  readonly multitenancy: boolean;
}

export interface MetricsGenerator {
  /** A Pusher that pushes through `inner` and, once the push is accepted, feeds the batch to the generator. */
  tap(inner: Pusher): Pusher;
  /** Runs the tenant's processors over a batch (never throws). */
  consume(batch: PushBatch): void;
  /** The exposition of one tenant, or of all (null). */
  scrape(tenant: string | null, openMetrics: boolean): string;
  /** The service graph of a tenant between two instants (ms). */
  serviceGraph(tenant: string, startMs: number, endMs: number): ServiceGraph;
  /** Runs one collection now (remote write, stale series); tests and shutdown use it. */
  collect(): void;
  stop(): void;
}

interface Queue {
  readonly queue: RemoteWriteQueue;
  readonly sendExemplars: boolean;
}

class TenantGenerator {
  readonly registry: SeriesRegistry;
  readonly graph = new GraphStore();
  private readonly spanMetrics: SpanMetrics | null;
  private readonly serviceGraphs: ServiceGraphs | null;
  private readonly fields: SpanFields;
  private readonly wanted: WantedKeys;
  private readonly attrKinds: number;
  private readonly resources: ResourceCache;
  private readonly slackNs: number;
  private readonly collectTimer: NodeJS.Timeout;
  private readonly expireTimer: NodeJS.Timeout | null;
  private lastStats = { added: 0, removed: 0, limited: 0, expired: 0 };

  constructor(
    readonly tenant: string,
    private readonly cfg: MetricsGeneratorConfig,
    settings: GeneratorTenantSettings,
    private readonly queues: readonly Queue[],
    private readonly extra: ExtraLabels,
    private readonly logger: Logger,
  ) {
    this.registry = new SeriesRegistry(settings.maxActiveSeries);
    const reg = cfg.registry;
    const sm = settings.processors.has('span-metrics') ? cfg.processor.span_metrics : null;
    const sg = settings.processors.has('service-graphs') ? cfg.processor.service_graphs : null;
    const smKeys = sm !== null ? spanMetricsKeys(sm) : [];
    this.wanted = new WantedKeys([...smKeys, ...(sg !== null ? serviceGraphsKeys(sg) : [])]);
    // Span metrics read attributes of every span when any dimension or filter names one; service
    // graphs only those of client and producer spans (peers, databases), and of server and consumer
    // spans when dimensions are asked for. Other spans skip their attributes.
    this.attrKinds =
      smKeys.length > 0
        ? ATTRS_ALL_KINDS
        : sg !== null
          ? (1 << SPAN_KIND_CLIENT) | (1 << SPAN_KIND_PRODUCER) | (sg.dimensions.length > 0 ? (1 << SPAN_KIND_SERVER) | (1 << SPAN_KIND_CONSUMER) : 0)
          : 0;
    const attrIndex = (key: string) => this.wanted.names.indexOf(key);
    this.fields = new SpanFields(this.wanted);
    this.resources = new ResourceCache(reg.max_label_name_length, reg.max_label_value_length, sm?.enable_target_info ?? false);
    const common = { maxLabelNameLength: reg.max_label_name_length, maxLabelValueLength: reg.max_label_value_length, attrIndex };
    this.spanMetrics = sm !== null ? new SpanMetrics(this.registry, { ...common, config: sm }) : null;
    this.serviceGraphs = sg !== null ? new ServiceGraphs(this.registry, { ...common, config: sg, onEdge: (e, now) => this.graph.record(e, now) }) : null;
    this.slackNs = cfg.metrics_ingestion_time_range_slack * 1e6;
    gm.maxActiveSeries.set({ tenant }, settings.maxActiveSeries);
    this.collectTimer = setInterval(() => this.collect(Date.now()), settings.collectionIntervalMs);
    this.collectTimer.unref();
    // Edges wait `wait` for their other half; look for expired ones often enough to honour it.
    const sgWait = sg?.wait ?? 0;
    this.expireTimer =
      this.serviceGraphs !== null ? setInterval(() => this.serviceGraphs?.expire(Date.now()), Math.max(100, Math.min(1000, sgWait / 2))) : null;
    this.expireTimer?.unref();
  }

  consume(batch: PushBatch, nowMs: number): void {
    const spans = batch.spans;
    const nowNs = nowMs * 1e6;
    const slack = this.slackNs;
    const f = this.fields;
    let discarded = 0;
    try {
      for (let i = 0; i < spans.length; i++) {
        const s = spans[i]!;
        if (slack > 0 && (s.endNs < nowNs - slack || s.endNs > nowNs + slack)) {
          discarded++;
          continue;
        }
        const res = this.resources.get(s.resource);
        readSpanFields(s.span, this.wanted, f, this.attrKinds);
        const durationS = s.endNs > s.startNs ? (s.endNs - s.startNs) / 1e9 : 0;
        this.spanMetrics?.observe(res, f, s.traceId, durationS, s.span.length, nowMs);
        this.serviceGraphs?.observe(res, f, s.traceId, durationS, nowMs);
      }
    } finally {
      this.resources.clear();
    }
    gm.spansReceived.inc({ tenant: this.tenant }, spans.length);
    gm.bytesReceived.inc({ tenant: this.tenant }, batch.byteSize);
    if (discarded > 0) gm.spansDiscarded.inc({ tenant: this.tenant, reason: 'outside_metrics_ingestion_slack' }, discarded);
  }

  /** Stale series out, self metrics updated, series out to every remote-write queue. */
  collect(nowMs: number): void {
    try {
      this.serviceGraphs?.expire(nowMs);
      if (this.registry.removeStale(nowMs - this.cfg.registry.stale_duration) > 0) {
        this.spanMetrics?.forgetSeries();
        this.serviceGraphs?.forgetSeries();
      }
      const st = this.registry.stats;
      const t = { tenant: this.tenant };
      gm.activeSeries.set(t, st.activeSeries);
      gm.seriesAdded.inc(t, st.added - this.lastStats.added);
      gm.seriesRemoved.inc(t, st.removed - this.lastStats.removed);
      gm.seriesLimited.inc(t, st.limited - this.lastStats.limited);
      const expired = this.serviceGraphs?.expiredEdges ?? 0;
      gm.expiredEdges.inc(t, expired - this.lastStats.expired);
      this.lastStats = { added: st.added, removed: st.removed, limited: st.limited, expired };
      if (this.queues.length > 0) {
        // Encode without exemplars first (that pass leaves the series' state alone), then with them.
        const plain = this.queues.some((q) => !q.sendExemplars) ? encodeRegistry(this.registry, this.extra, nowMs, false, false) : [];
        const withEx = encodeRegistry(
          this.registry,
          this.extra,
          nowMs,
          this.queues.some((q) => q.sendExemplars),
          true,
        );
        for (const q of this.queues) for (const w of q.sendExemplars ? withEx : plain) q.queue.enqueue(this.tenant, w);
      }
      gm.collections.inc(t);
    } catch (err) {
      gm.collectionsFailed.inc({ tenant: this.tenant });
      this.logger.error({ err, tenant: this.tenant }, 'metrics generator: collection failed');
    }
  }

  stop(): void {
    clearInterval(this.collectTimer);
    if (this.expireTimer !== null) clearInterval(this.expireTimer);
  }
}

/** The accepted spans of a partly refused push, as a batch of their own (byteSize: their encoded sizes). */
function acceptedPart(batch: PushBatch, accepted: readonly SpanEntry[]): PushBatch {
  let bytes = 0;
  for (const s of accepted) bytes += s.span.length;
  return { tenant: batch.tenant, spans: [...accepted], payload: batch.payload, byteSize: bytes };
}

export function createMetricsGenerator(opts: GeneratorOptions): MetricsGenerator {
  const { config, logger } = opts;
  const tenants = new Map<string, TenantGenerator | null>();
  const extra: ExtraLabels = Object.entries(config.registry.external_labels).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const queues: Queue[] = config.storage.remote_write
    .filter((rw: RemoteWriteConfig) => rw.url !== '')
    .map((rw) => ({
      queue: new RemoteWriteQueue({
        config: rw,
        maxBytes: config.storage.queue_max_bytes,
        addOrgIdHeader: config.storage.remote_write_add_org_id_header,
        logger,
      }),
      sendExemplars: rw.send_exemplars,
    }));
  let lastErrorLogMs = 0;

  const instance = (tenant: string): TenantGenerator | null => {
    let t = tenants.get(tenant);
    if (t === undefined) {
      const settings = opts.settings(tenant);
      if (settings.unsupported !== undefined && settings.unsupported.length > 0) {
        logger.warn({ tenant, processors: settings.unsupported }, 'metrics generator: processors not implemented by rubato are ignored');
      }
      t = settings.processors.size === 0 ? null : new TenantGenerator(tenant, config, settings, queues, extra, logger);
      tenants.set(tenant, t);
      if (t !== null) logger.info({ tenant, processors: [...settings.processors] }, 'metrics generator: processors running for tenant');
    }
    return t;
  };

  const consume = (batch: PushBatch): void => {
    try {
      instance(batch.tenant)?.consume(batch, Date.now());
    } catch (err) {
      gm.pushErrors.inc({ tenant: batch.tenant });
      const now = Date.now();
      if (now - lastErrorLogMs > 10_000) {
        lastErrorLogMs = now;
        logger.warn({ err, tenant: batch.tenant }, 'metrics generator: could not process a batch (the push was not affected)');
      }
    }
  };

  return {
    tap(inner: Pusher): Pusher {
      return {
        push: (batch: PushBatch): Promise<PushResult> =>
          inner.push(batch).then((r) => {
            if (r.rejectedSpans === 0) consume(batch);
            else if (r.accepted !== undefined && r.accepted.length > 0) consume(acceptedPart(batch, r.accepted));
            // Refused spans the pusher did not name cannot be told apart: count none rather than all.
            return r;
          }),
      };
    },
    consume,
    scrape(tenant, openMetrics) {
      const sources: RenderSource[] = [];
      for (const [id, t] of tenants) {
        if (t === null || (tenant !== null && id !== tenant)) continue;
        const labels: ExtraLabels = opts.multitenancy && tenant === null ? [['tenant', id], ...extra] : extra;
        sources.push({ registry: t.registry, extra: labels });
      }
      return renderExposition(sources, openMetrics);
    },
    serviceGraph(tenant, startMs, endMs) {
      const t = tenants.get(tenant);
      if (t === undefined || t === null) return { start: Math.floor(startMs / 1000), end: Math.floor(endMs / 1000), nodes: [], edges: [] };
      return t.graph.query(startMs, endMs);
    },
    collect() {
      const now = Date.now();
      for (const t of tenants.values()) t?.collect(now);
    },
    stop() {
      for (const t of tenants.values()) t?.stop();
      for (const q of queues) q.queue.stop();
    },
  };
}
