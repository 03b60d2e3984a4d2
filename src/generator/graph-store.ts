/**
 * Service-graph edges kept in rubato itself for `GET /api/service-graph`, so the web UI and users with
 * no Prometheus get a service map: per-minute counts of requests, failures and a latency histogram per
 * edge, for the last hour, with a cap on edges per minute (extra edges are counted, not stored).
 */
import type { CompletedEdge, ConnectionType } from './service-graphs.js';

const MINUTE_MS = 60_000;
/** How far back the store answers. */
export const GRAPH_RETENTION_MS = 60 * MINUTE_MS;
/** Most distinct edges kept per minute and tenant. */
export const GRAPH_MAX_EDGES_PER_MINUTE = 2000;
/** Latency bucket upper bounds: 1 ms · 2^i, i = 0…20 (about 17 min), then +Inf. */
const LATENCY_BOUNDS_S = Array.from({ length: 21 }, (_, i) => 0.001 * 2 ** i);

interface EdgeAgg {
  readonly client: string;
  readonly server: string;
  readonly connectionType: ConnectionType;
  requests: number;
  failed: number;
  readonly latency: Uint32Array;
}

export interface GraphNode {
  readonly id: string;
  /** Requests this node served per second, over the range. */
  readonly requestRate: number;
  /** Share of those that failed, 0…1. */
  readonly errorRate: number;
  /** True when the node was named from a client span only (peer.service, db.name) or is "user". */
  readonly virtual: boolean;
}

export interface GraphEdge {
  readonly source: string;
  readonly target: string;
  readonly connectionType: string;
  readonly requests: number;
  readonly failed: number;
  readonly requestRate: number;
  readonly errorRate: number;
  readonly latencyP50Seconds: number | null;
  readonly latencyP90Seconds: number | null;
  readonly latencyP99Seconds: number | null;
}

export interface ServiceGraph {
  readonly start: number;
  readonly end: number;
  readonly nodes: GraphNode[];
  readonly edges: GraphEdge[];
}

/** One minute's edges: a list for queries and client → server → connection type for recording without a key string. */
interface Minute {
  readonly list: EdgeAgg[];
  readonly index: Map<string, Map<string, Map<ConnectionType, EdgeAgg>>>;
}

export class GraphStore {
  private readonly minutes = new Map<number, Minute>();
  /** The minute recorded last (edges come in runs within one minute). */
  private lastMinute = Number.NaN;
  private last: Minute | undefined;
  /** Edges not stored because a minute was full, since start. */
  droppedEdges = 0;
  private readonly virtualNodes = new Set<string>();

  record(e: CompletedEdge, nowMs: number): void {
    const minute = Math.floor(nowMs / MINUTE_MS);
    let m = minute === this.lastMinute ? this.last : this.minutes.get(minute);
    if (m === undefined) {
      m = { list: [], index: new Map() };
      this.minutes.set(minute, m);
      this.prune(nowMs);
    }
    this.lastMinute = minute;
    this.last = m;
    let byServer = m.index.get(e.client);
    let byType = byServer?.get(e.server);
    let agg = byType?.get(e.connectionType);
    if (agg === undefined) {
      if (m.list.length >= GRAPH_MAX_EDGES_PER_MINUTE) {
        this.droppedEdges++;
        return;
      }
      agg = {
        client: e.client,
        server: e.server,
        connectionType: e.connectionType,
        requests: 0,
        failed: 0,
        latency: new Uint32Array(LATENCY_BOUNDS_S.length + 1),
      };
      if (byServer === undefined) {
        byServer = new Map();
        m.index.set(e.client, byServer);
      }
      if (byType === undefined) {
        byType = new Map();
        byServer.set(e.server, byType);
      }
      byType.set(e.connectionType, agg);
      m.list.push(agg);
    }
    agg.requests++;
    if (e.failed) agg.failed++;
    let i = 0;
    while (i < LATENCY_BOUNDS_S.length && e.latencyS > LATENCY_BOUNDS_S[i]!) i++;
    agg.latency[i]!++;
    if (e.virtualNode !== null && this.virtualNodes.size < GRAPH_MAX_EDGES_PER_MINUTE) this.virtualNodes.add(e.virtualNode);
  }

  private prune(nowMs: number): void {
    const oldest = Math.floor((nowMs - GRAPH_RETENTION_MS) / MINUTE_MS);
    for (const k of this.minutes.keys()) if (k < oldest) this.minutes.delete(k);
    if (this.lastMinute < oldest) {
      this.lastMinute = Number.NaN;
      this.last = undefined;
    }
  }

  /** The graph between `startMs` and `endMs` (whole minutes overlapping the range). */
  query(startMs: number, endMs: number): ServiceGraph {
    const seconds = Math.max(1, (endMs - startMs) / 1000);
    const merged = new Map<string, EdgeAgg>();
    const first = Math.floor(startMs / MINUTE_MS);
    const last = Math.floor(endMs / MINUTE_MS);
    for (const [minute, m] of this.minutes) {
      if (minute < first || minute > last) continue;
      for (const a of m.list) {
        const key = `${a.client}\u0000${a.server}\u0000${a.connectionType}`;
        let t = merged.get(key);
        if (t === undefined) {
          t = { client: a.client, server: a.server, connectionType: a.connectionType, requests: 0, failed: 0, latency: new Uint32Array(a.latency.length) };
          merged.set(key, t);
        }
        t.requests += a.requests;
        t.failed += a.failed;
        for (let i = 0; i < a.latency.length; i++) t.latency[i]! += a.latency[i]!;
      }
    }
    const served = new Map<string, { requests: number; failed: number }>();
    const nodeIds = new Set<string>();
    const edges: GraphEdge[] = [];
    for (const a of merged.values()) {
      nodeIds.add(a.client);
      nodeIds.add(a.server);
      const s = served.get(a.server) ?? { requests: 0, failed: 0 };
      s.requests += a.requests;
      s.failed += a.failed;
      served.set(a.server, s);
      edges.push({
        source: a.client,
        target: a.server,
        connectionType: a.connectionType,
        requests: a.requests,
        failed: a.failed,
        requestRate: a.requests / seconds,
        errorRate: a.requests === 0 ? 0 : a.failed / a.requests,
        latencyP50Seconds: percentile(a.latency, 0.5),
        latencyP90Seconds: percentile(a.latency, 0.9),
        latencyP99Seconds: percentile(a.latency, 0.99),
      });
    }
    edges.sort((x, y) => (x.source === y.source ? (x.target < y.target ? -1 : 1) : x.source < y.source ? -1 : 1));
    const nodes: GraphNode[] = [...nodeIds].sort().map((id) => {
      const s = served.get(id);
      return {
        id,
        requestRate: (s?.requests ?? 0) / seconds,
        errorRate: s === undefined || s.requests === 0 ? 0 : s.failed / s.requests,
        virtual: this.virtualNodes.has(id),
      };
    });
    return { start: Math.floor(startMs / 1000), end: Math.floor(endMs / 1000), nodes, edges };
  }
}

/** The q-quantile of a bucketed distribution, linearly interpolated inside its bucket (as histogram_quantile). */
function percentile(counts: Uint32Array, q: number): number | null {
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (seen + c >= rank && c > 0) {
      const lower = i === 0 ? 0 : LATENCY_BOUNDS_S[i - 1]!;
      const upper = LATENCY_BOUNDS_S[i] ?? lower;
      return lower + (upper - lower) * ((rank - seen) / c);
    }
    seen += c;
  }
  return LATENCY_BOUNDS_S[LATENCY_BOUNDS_S.length - 1]!;
}
