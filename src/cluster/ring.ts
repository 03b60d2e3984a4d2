/**
 * The consistent hash ring of distributed mode, as plain data and functions: which instances own a
 * trace (its token, then the next `replicationFactor` distinct instances clockwise) and which of them
 * count as healthy. Kept apart from etcd (etcd-ring.ts) so routing can be tested without a store.
 */

/** An instance's state, as Tempo's /ring page names them. */
export type InstanceState = 'JOINING' | 'ACTIVE' | 'LEAVING';

/** One member as it is stored in etcd under `<prefix><ring>/<id>` (JSON). */
export interface RingInstance {
  readonly id: string;
  /** host:port of the instance's internal gRPC server. */
  readonly addr: string;
  /** host:port of its HTTP server (the API for queriers, /ready and /metrics for the rest). */
  readonly httpAddr: string;
  readonly state: InstanceState;
  /** Unix ms of the last heartbeat. */
  readonly heartbeatMs: number;
  /** Sorted positions on the ring (uint32). */
  readonly tokens: readonly number[];
  /** Availability zone (Tempo's lifecycler availability_zone); absent or '' when none was set. */
  readonly zone?: string;
}

/** How replicas are chosen (Tempo's ring zone_awareness_enabled and excluded_zones). */
export interface ReplicaRules {
  /** A trace's replicas in distinct zones. */
  readonly zoneAware?: boolean;
  /** Instances in these zones own nothing. */
  readonly excludedZones?: readonly string[];
}

/** FNV-1a, 32 bits: cheap, stable across processes, and spread well enough for trace IDs. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The token of a trace: tenant and trace ID together, as Tempo's TokenFor does. */
export function traceToken(tenant: string, traceId: string): number {
  return fnv1a32(`${tenant}\u0000${traceId}`);
}

/**
 * An instance's tokens, derived from its ID: an instance that restarts under the same ID takes the
 * same place in the ring, so it owns the data its WAL replays (Tempo keeps a tokens file for that).
 */
export function tokensFor(id: string, count: number): number[] {
  const out = new Set<number>();
  for (let i = 0; out.size < count && i < count * 4; i++) out.add(fnv1a32(`${id}#${i}`));
  return [...out].sort((a, b) => a - b);
}

/** Healthy: ACTIVE, with a heartbeat within the timeout (0 = no timeout). */
export function isHealthy(inst: RingInstance, nowMs: number, heartbeatTimeoutMs: number): boolean {
  if (inst.state !== 'ACTIVE') return false;
  return heartbeatTimeoutMs <= 0 || nowMs - inst.heartbeatMs <= heartbeatTimeoutMs;
}

/** Writes succeed once this many of a trace's replicas acknowledged. */
export function writeQuorum(replicationFactor: number): number {
  return Math.floor(replicationFactor / 2) + 1;
}

/** A ring snapshot with its tokens sorted once, for many lookups. */
export class RingView {
  private readonly tokens: Uint32Array;
  private readonly owners: RingInstance[];

  constructor(
    readonly instances: readonly RingInstance[],
    private readonly rules: ReplicaRules = {},
  ) {
    const excluded = new Set(rules.excludedZones ?? []);
    const all: { token: number; inst: RingInstance }[] = [];
    for (const inst of instances) if (!excluded.has(inst.zone ?? '')) for (const t of inst.tokens) all.push({ token: t, inst });
    all.sort((a, b) => a.token - b.token || (a.inst.id < b.inst.id ? -1 : 1));
    this.tokens = Uint32Array.from(all.map((x) => x.token));
    this.owners = all.map((x) => x.inst);
  }

  /**
   * The `n` distinct instances owning `token`: the first token at or after it, then clockwise. Every
   * instance in the ring counts, healthy or not (as Tempo's replication set): a dead replica is a
   * failed write, so the write quorum stays that of the configured replication factor. Zone aware,
   * an instance in a zone already chosen is passed over, so losing a whole zone costs each trace one
   * replica; with fewer zones than `n`, fewer replicas are returned (their missing acks count as failed).
   */
  replicasFor(token: number, n: number): RingInstance[] {
    const len = this.tokens.length;
    if (len === 0) return [];
    let lo = 0;
    let hi = len;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.tokens[mid]! < token) lo = mid + 1;
      else hi = mid;
    }
    const out: RingInstance[] = [];
    const seen = new Set<string>();
    const zones = this.rules.zoneAware === true ? new Set<string>() : null;
    for (let i = 0; i < len && out.length < n; i++) {
      const inst = this.owners[(lo + i) % len]!;
      if (seen.has(inst.id)) continue;
      seen.add(inst.id);
      if (zones !== null) {
        const zone = inst.zone ?? '';
        if (zones.has(zone)) continue;
        zones.add(zone);
      }
      out.push(inst);
    }
    return out;
  }
}
