/**
 * Tempo's service-graphs processor: a client span and the server span under it (same trace, the
 * server's parent is the client) make one edge client → server. Halves wait up to `wait` for each
 * other in a store of at most `max_items` edges; spans that find the store full are dropped and
 * counted. An expired client half with a peer attribute (peer.service, db.name, …) becomes an edge to
 * a virtual node named by it; an expired root server half becomes an edge from the virtual node "user".
 */
import type { MetricsGeneratorConfig } from '../config/schema.js';
import {
  KEY_SEP,
  observeInto,
  sanitizeLabelName,
  type Counter,
  type CounterSeries,
  type Histogram,
  type HistogramSeries,
  type SeriesRegistry,
} from './registry.js';
import type { ResourceInfo } from './resource-info.js';
import type { SpanFields } from './span-fields.js';
import { SPAN_KIND_CLIENT, SPAN_KIND_CONSUMER, SPAN_KIND_PRODUCER, SPAN_KIND_SERVER, STATUS_CODE_ERROR } from './span-names.js';

type ServiceGraphsConfig = MetricsGeneratorConfig['processor']['service_graphs'];

export type ConnectionType = '' | 'virtual_node' | 'messaging_system' | 'database';

interface Edge {
  /** Hash of the trace ID and the client span ID; `traceId`, `idLow`, `idHigh` tell collisions apart. */
  key: number;
  traceId: string;
  idLow: number;
  idHigh: number;
  /** The server half's parent span ID is '' (a root span): its client is "user" if none shows up. */
  rootServer: boolean;
  client: string;
  server: string;
  clientLatencyS: number;
  serverLatencyS: number;
  hasClient: boolean;
  hasServer: boolean;
  failed: boolean;
  connectionType: ConnectionType;
  peerNode: string;
  virtualNode: string | null;
  /** Dimension values, client side then server side (or one merged set without the prefix). */
  readonly dims: string[];
  expiresAtMs: number;
}

/** A finished edge, for the /api/service-graph store (one object reused for every edge: copy what you keep). */
export interface CompletedEdge {
  client: string;
  server: string;
  connectionType: ConnectionType;
  failed: boolean;
  latencyS: number;
  /** The node of this edge that no span of its own stands for ("user", a peer.service, a database), if any. */
  virtualNode: string | null;
}

export interface ServiceGraphsOptions {
  readonly config: ServiceGraphsConfig;
  readonly maxLabelNameLength: number;
  readonly maxLabelValueLength: number;
  readonly attrIndex: (key: string) => number;
  readonly onEdge?: (e: CompletedEdge, nowMs: number) => void;
}

/** Attribute keys this processor reads from spans. */
export function serviceGraphsKeys(cfg: ServiceGraphsConfig): string[] {
  return [...cfg.dimensions, ...cfg.peer_attributes, 'db.name', 'db.namespace'];
}

/** The series of one edge label set, found with one lookup. */
interface EdgeSlot {
  readonly requests: CounterSeries;
  readonly server: HistogramSeries;
  readonly client: HistogramSeries;
}

const NO_DIMS: string[] = [];
const CONNECTION_TYPES: readonly ConnectionType[] = ['', 'virtual_node', 'messaging_system', 'database'];
/** Finished edges kept for reuse, so pairing spans makes no garbage in the steady state. */
const EDGE_POOL_MAX = 4096;

export class ServiceGraphs {
  private readonly edges = new Map<number, Edge>();
  /** Edge label-set key → its series; emptied whenever stale series leave the registry. */
  private readonly slots = new Map<string, EdgeSlot>();
  /**
   * Without dimensions: client → server → slot per connection type, so a finished edge finds its
   * series without building the label-set key (emptied with `slots`).
   */
  private readonly plainSlots = new Map<string, Map<string, (EdgeSlot | undefined)[]>>();
  private readonly pool: Edge[] = [];
  private readonly done: CompletedEdge = { client: '', server: '', connectionType: '', failed: false, latencyS: 0, virtualNode: null };
  private readonly requests: Counter;
  private readonly failed: Counter;
  private readonly serverSeconds: Histogram;
  private readonly clientSeconds: Histogram;
  private readonly unpaired: Counter;
  private readonly dropped: Counter;
  private readonly dimIndexes: number[];
  private readonly dimKeys: readonly string[];
  private readonly peerIndexes: number[];
  private readonly dbIndexes: number[];
  private readonly prefix: boolean;
  private readonly virtualLabel: boolean;
  private readonly waitMs: number;
  private readonly maxItems: number;
  private readonly maxValue: number;
  /** Edges that expired without their other half, since start. */
  expiredEdges = 0;
  /** When the oldest waiting edge expires (no need to look before). */
  private nextExpiryMs = Infinity;
  /** The dropped-spans series of the last service seen dropping, per side (spans come in runs per resource). */
  private lastDrop: [string | null, CounterSeries | null, string | null, CounterSeries | null] = [null, null, null, null];

  constructor(
    private readonly reg: SeriesRegistry,
    private readonly opts: ServiceGraphsOptions,
  ) {
    const cfg = opts.config;
    this.prefix = cfg.enable_client_server_prefix;
    this.virtualLabel = cfg.enable_virtual_node_label;
    this.waitMs = cfg.wait;
    this.maxItems = cfg.max_items;
    this.maxValue = opts.maxLabelValueLength;
    this.dimKeys = cfg.dimensions;
    this.dimIndexes = cfg.dimensions.map(opts.attrIndex);
    this.peerIndexes = cfg.peer_attributes.map(opts.attrIndex);
    this.dbIndexes = ['db.name', 'db.namespace'].map(opts.attrIndex);
    const dimNames = cfg.dimensions.map((d) => sanitizeLabelName(d, opts.maxLabelNameLength));
    const names = [
      'client',
      'server',
      'connection_type',
      ...(this.prefix ? [...dimNames.map((d) => `client_${d}`), ...dimNames.map((d) => `server_${d}`)] : dimNames),
    ];
    this.requests = reg.counter('traces_service_graph_request_total', 'Total count of requests between two nodes', names);
    this.failed = reg.counter('traces_service_graph_request_failed_total', 'Total count of failed requests between two nodes', names);
    this.serverSeconds = reg.histogram(
      'traces_service_graph_request_server_seconds',
      'Time for a request between two nodes as seen from the server',
      names,
      cfg.histogram_buckets,
    );
    this.clientSeconds = reg.histogram(
      'traces_service_graph_request_client_seconds',
      'Time for a request between two nodes as seen from the client',
      names,
      cfg.histogram_buckets,
    );
    this.unpaired = reg.counter('traces_service_graph_unpaired_spans_total', 'Total count of unpaired spans', ['client', 'server']);
    this.dropped = reg.counter('traces_service_graph_dropped_spans_total', 'Total count of spans dropped because the edge store was full', [
      'client',
      'server',
    ]);
  }

  /** Edges waiting for their other half. */
  get pending(): number {
    return this.edges.size;
  }

  private cut(v: string): string {
    return v.length > this.maxValue ? v.slice(0, this.maxValue) : v;
  }

  observe(res: ResourceInfo, f: SpanFields, traceId: string, durationS: number, nowMs: number): void {
    const kind = f.kind;
    const isClient = kind === SPAN_KIND_CLIENT || kind === SPAN_KIND_PRODUCER;
    const isServer = kind === SPAN_KIND_SERVER || kind === SPAN_KIND_CONSUMER;
    if (!isClient && !isServer) return;
    if (nowMs >= this.nextExpiryMs) this.expire(nowMs);
    // The edge is the client span's ID: a client span's own, a server span's parent.
    const idLow = isClient ? f.spanIdLow : f.parentIdLow;
    const idHigh = isClient ? f.spanIdHigh : f.parentIdHigh;
    // 30 bits: small-integer keys, which a Map hashes without allocating
    const key = (idLow ^ Math.imul(idHigh, 0x9e3779b1) ^ Math.imul(f.traceIdLow, 0x85ebca6b)) & 0x3fffffff;
    let e = this.edges.get(key);
    if (e !== undefined && (e.idLow !== idLow || e.idHigh !== idHigh || e.traceId !== traceId)) {
      // Another edge waits under the same hash (about one in 2^30 / max_items): this span is dropped.
      this.countDropped(isClient, res.service, nowMs);
      return;
    }
    if (e === undefined) {
      if (this.edges.size >= this.maxItems) {
        this.countDropped(isClient, res.service, nowMs);
        return;
      }
      const nd = this.dimKeys.length;
      e = this.pool.pop();
      if (e !== undefined) {
        e.key = key;
        e.traceId = traceId;
        e.idLow = idLow;
        e.idHigh = idHigh;
        e.rootServer = false;
        e.client = '';
        e.server = '';
        e.clientLatencyS = 0;
        e.serverLatencyS = 0;
        e.hasClient = false;
        e.hasServer = false;
        e.failed = false;
        e.connectionType = '';
        e.peerNode = '';
        e.virtualNode = null;
        if (nd > 0) e.dims.fill('');
        e.expiresAtMs = nowMs + this.waitMs;
      } else {
        e = {
          key,
          traceId,
          idLow,
          idHigh,
          rootServer: false,
          client: '',
          server: '',
          clientLatencyS: 0,
          serverLatencyS: 0,
          hasClient: false,
          hasServer: false,
          failed: false,
          connectionType: '',
          peerNode: '',
          virtualNode: null,
          dims: nd === 0 ? NO_DIMS : new Array<string>(this.prefix ? 2 * nd : nd).fill(''),
          expiresAtMs: nowMs + this.waitMs,
        };
      }
      this.edges.set(key, e);
      if (this.nextExpiryMs === Infinity) this.nextExpiryMs = e.expiresAtMs;
    }
    const failed = f.statusCode === STATUS_CODE_ERROR;
    e.failed ||= failed;
    const nd = this.dimKeys.length;
    if (isClient) {
      e.hasClient = true;
      e.client = this.cut(res.service);
      e.clientLatencyS = durationS;
      if (kind === SPAN_KIND_PRODUCER) e.connectionType = 'messaging_system';
      for (let i = 0; i < nd; i++) {
        const v = f.attrs[this.dimIndexes[i]!] ?? res.attrs.get(this.dimKeys[i]!);
        if (v !== undefined) e.dims[i] = this.cut(v);
      }
      for (const pi of this.peerIndexes) {
        const v = f.attrs[pi];
        if (v !== undefined && v !== '') {
          e.peerNode = this.cut(v);
          break;
        }
      }
      // A client span naming a database is a complete edge to that database (Tempo's upsertDatabaseRequest).
      for (const di of this.dbIndexes) {
        const db = f.attrs[di];
        if (db !== undefined && db !== '' && !e.hasServer) {
          e.connectionType = 'database';
          e.server = this.cut(db);
          e.serverLatencyS = durationS;
          e.hasServer = true;
          e.virtualNode = e.server;
          break;
        }
      }
    } else {
      e.hasServer = true;
      e.server = this.cut(res.service);
      e.serverLatencyS = durationS;
      e.rootServer = f.parentIdLen === 0;
      if (kind === SPAN_KIND_CONSUMER) e.connectionType = 'messaging_system';
      const off = this.prefix ? nd : 0;
      for (let i = 0; i < nd; i++) {
        const v = f.attrs[this.dimIndexes[i]!] ?? res.attrs.get(this.dimKeys[i]!);
        if (v !== undefined) e.dims[off + i] = this.cut(v);
      }
    }
    if (e.hasClient && e.hasServer) {
      this.edges.delete(key);
      this.complete(e, nowMs);
      this.release(e);
    }
  }

  private release(e: Edge): void {
    if (this.pool.length < EDGE_POOL_MAX) {
      e.traceId = '';
      this.pool.push(e);
    }
  }

  /** The series of an edge without dimensions, found by its three label values without building a key. */
  private plainSlot(e: Edge, nowMs: number): EdgeSlot | null {
    const t = CONNECTION_TYPES.indexOf(e.connectionType);
    const cached = this.plainSlots.get(e.client)?.get(e.server)?.[t];
    if (cached !== undefined) return cached;
    const slot = this.slotFor([e.client, e.server, e.connectionType], nowMs);
    // Only series that exist are remembered: refused label sets leave nothing behind.
    if (slot === null) return null;
    let byServer = this.plainSlots.get(e.client);
    if (byServer === undefined) {
      byServer = new Map();
      this.plainSlots.set(e.client, byServer);
    }
    let byType = byServer.get(e.server);
    if (byType === undefined) {
      byType = [undefined, undefined, undefined, undefined];
      byServer.set(e.server, byType);
    }
    byType[t] = slot;
    return slot;
  }

  private slotFor(values: string[], nowMs: number): EdgeSlot | null {
    const key = values.join(KEY_SEP);
    let slot = this.slots.get(key);
    if (slot === undefined) {
      const need = (this.requests.series.has(key) ? 0 : 1) + (this.serverSeconds.series.has(key) ? 0 : 2 * this.serverSeconds.seriesWeight);
      if (!this.reg.hasRoom(need)) {
        this.reg.stats.limited += need;
        return null;
      }
      const requests = this.requests.seriesFor(key, values, nowMs);
      const server = this.serverSeconds.seriesFor(key, values, nowMs);
      const client = this.clientSeconds.seriesFor(key, values, nowMs);
      if (requests === null || server === null || client === null) return null;
      slot = { requests, server, client };
      this.slots.set(key, slot);
    }
    return slot;
  }

  private countDropped(isClient: boolean, service: string, nowMs: number): void {
    const d = this.lastDrop;
    const i = isClient ? 0 : 2;
    let series = d[i] === service ? (d[i + 1] as CounterSeries | null) : null;
    if (series === null) {
      series = this.dropped.seriesFor(isClient ? `${service}${KEY_SEP}` : `${KEY_SEP}${service}`, isClient ? [service, ''] : ['', service], nowMs);
      d[i] = service;
      d[i + 1] = series;
      if (series === null) return;
    }
    series.value++;
    series.lastUpdatedMs = nowMs;
  }

  private complete(e: Edge, nowMs: number): void {
    const slot = e.dims.length === 0 ? this.plainSlot(e, nowMs) : this.slotFor([e.client, e.server, e.connectionType, ...e.dims], nowMs);
    if (slot === null) return;
    slot.requests.value++;
    slot.requests.lastUpdatedMs = nowMs;
    if (e.failed) {
      // Failures are the rare case: the label-set key is built only for them.
      const values = e.dims.length === 0 ? [e.client, e.server, e.connectionType] : [e.client, e.server, e.connectionType, ...e.dims];
      this.failed.add(values.join(KEY_SEP), values, 1, nowMs);
    }
    observeInto(this.serverSeconds.buckets, slot.server, e.serverLatencyS, e.traceId, nowMs);
    observeInto(this.clientSeconds.buckets, slot.client, e.clientLatencyS, e.traceId, nowMs);
    const onEdge = this.opts.onEdge;
    if (onEdge !== undefined) {
      const d = this.done;
      d.client = e.client;
      d.server = e.server;
      d.connectionType = e.connectionType;
      d.failed = e.failed;
      d.latencyS = e.serverLatencyS > 0 ? e.serverLatencyS : e.clientLatencyS;
      d.virtualNode = e.virtualNode;
      onEdge(d, nowMs);
    }
  }

  /** Forgets the series lookups (after stale series left the registry). */
  forgetSeries(): void {
    this.slots.clear();
    this.plainSlots.clear();
    this.lastDrop = [null, null, null, null];
  }

  /** Ends edges whose wait is over: virtual nodes where the evidence allows, unpaired counts otherwise. */
  expire(nowMs: number): void {
    this.nextExpiryMs = Infinity;
    for (const e of this.edges.values()) {
      if (e.expiresAtMs > nowMs) {
        this.nextExpiryMs = e.expiresAtMs; // insertion order = expiry order
        break;
      }
      this.edges.delete(e.key);
      this.expiredEdges++;
      if (!e.hasClient && e.rootServer) {
        e.client = 'user';
        e.virtualNode = 'user';
        if (this.virtualLabel) e.connectionType = 'virtual_node';
        this.complete(e, nowMs);
      } else if (e.hasClient && !e.hasServer && e.peerNode !== '') {
        e.server = e.peerNode;
        e.virtualNode = e.peerNode;
        if (this.virtualLabel) e.connectionType = 'virtual_node';
        this.complete(e, nowMs);
      } else {
        this.unpaired.add(`${e.client}${KEY_SEP}${e.server}`, [e.client, e.server], 1, nowMs);
      }
      this.release(e);
    }
  }
}
