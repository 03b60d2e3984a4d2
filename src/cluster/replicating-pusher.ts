/**
 * The distributor's hand-off in distributed mode: each trace goes to the `replication_factor`
 * ingesters that own its token, and a push is acknowledged once every trace in it has a write quorum
 * (floor(RF/2)+1) of ingester acknowledgements — each ingester acknowledging after its own WAL fsync.
 * A dead, joining or slow replica is then one failure among RF, not a lost or refused push.
 */
import { Counter } from 'prom-client';
import type { PushBatch, SpanEntry } from '../model/batch.js';
import { ACCEPTED_ALL, PushError, type Pusher, type PushResult } from '../model/pusher.js';
import { registry } from '../metrics/registry.js';
import { encodeTrace } from '../otlp/trace-encode.js';
import { isHealthy, traceToken, writeQuorum, type RingInstance, type RingView } from './ring.js';

const replicaWrites = new Counter({
  name: 'rubato_distributor_replica_writes_total',
  help: 'Pushes to ingester replicas by outcome (ok, failed, skipped_unhealthy).',
  labelNames: ['outcome'],
  registers: [registry],
});

export interface ReplicatingPusherOptions {
  /** The ingester ring as it is now. */
  readonly ring: () => RingView;
  readonly replicationFactor: number;
  /** Heartbeats older than this make an ingester unhealthy (ring.heartbeat_timeout). */
  readonly heartbeatTimeoutMs: number;
  /** Sends one ingester its part of a push. */
  readonly send: (inst: RingInstance, tenant: string, payload: Uint8Array) => Promise<PushResult>;
}

interface TraceTally {
  ok: number;
  failed: number;
  /** Replicas this trace was given to (ring size may be below RF). */
  readonly replicas: number;
}

export function createReplicatingPusher(opts: ReplicatingPusherOptions): Pusher {
  const rf = opts.replicationFactor;
  const quorum = writeQuorum(rf);
  return {
    push(batch: PushBatch): Promise<PushResult> {
      if (batch.spans.length === 0) return Promise.resolve(ACCEPTED_ALL);
      const view = opts.ring();
      const now = Date.now();
      // Spans per ingester, and the ingesters of each trace.
      const perInstance = new Map<string, { inst: RingInstance; spans: SpanEntry[]; traces: Set<string> }>();
      const tallies = new Map<string, TraceTally>();
      let skipped = 0;
      const replicaCache = new Map<string, RingInstance[]>();
      for (const s of batch.spans) {
        let replicas = replicaCache.get(s.traceId);
        if (replicas === undefined) {
          replicas = view.replicasFor(traceToken(batch.tenant, s.traceId), rf);
          replicaCache.set(s.traceId, replicas);
          let unhealthy = 0;
          for (const r of replicas) if (!isHealthy(r, now, opts.heartbeatTimeoutMs)) unhealthy++;
          skipped += unhealthy;
          tallies.set(s.traceId, { ok: 0, failed: unhealthy, replicas: replicas.length });
        }
        for (const r of replicas) {
          if (!isHealthy(r, now, opts.heartbeatTimeoutMs)) continue;
          let e = perInstance.get(r.id);
          if (e === undefined) perInstance.set(r.id, (e = { inst: r, spans: [], traces: new Set() }));
          e.spans.push(s);
          e.traces.add(s.traceId);
        }
      }
      if (skipped > 0) replicaWrites.inc({ outcome: 'skipped_unhealthy' }, skipped);

      // A trace fails once too many replicas failed for the rest to reach quorum.
      const failedFor = (t: TraceTally): boolean => t.replicas - t.failed < quorum;
      for (const t of tallies.values()) {
        if (failedFor(t)) {
          return Promise.reject(
            new PushError('unavailable', `too few healthy ingesters for replication factor ${rf}: a write needs ${quorum}; ring has ${view.instances.length}`),
          );
        }
      }

      return new Promise<PushResult>((resolve, reject) => {
        let pendingTraces = tallies.size;
        let settled = false;
        let rejected = 0;
        let message = '';
        const errors: PushError[] = [];
        const finish = (): void => {
          if (settled) return;
          settled = true;
          resolve(rejected > 0 ? { rejectedSpans: rejected, message } : ACCEPTED_ALL);
        };
        const fail = (): void => {
          if (settled) return;
          settled = true;
          // The client retries on 503/429; a refusal every replica agrees on (400, 413) is passed on as it is.
          const kinds = new Set(errors.map((e) => e.kind));
          const kind = kinds.size === 1 ? errors[0]!.kind : 'unavailable';
          reject(new PushError(kind, `write quorum not reached (${quorum} of ${rf} ingesters): ${errors[0]?.message ?? 'no healthy ingester'}`));
        };
        for (const { inst, spans, traces } of perInstance.values()) {
          const payload = spans.length === batch.spans.length ? batch.payload : encodeTrace(spans);
          opts.send(inst, batch.tenant, payload).then(
            (r) => {
              replicaWrites.inc({ outcome: 'ok' });
              // Replicas apply the same limits, so one replica's partial refusal stands for all.
              if (r.rejectedSpans > rejected) {
                rejected = r.rejectedSpans;
                message = r.message;
              }
              for (const id of traces) {
                const t = tallies.get(id)!;
                t.ok++;
                if (t.ok === quorum) pendingTraces--;
              }
              if (pendingTraces === 0) finish();
            },
            (err: unknown) => {
              replicaWrites.inc({ outcome: 'failed' });
              errors.push(err instanceof PushError ? err : new PushError('unavailable', String(err)));
              for (const id of traces) {
                const t = tallies.get(id)!;
                t.failed++;
                if (t.ok < quorum && failedFor(t)) fail();
              }
            },
          );
        }
      });
    },
  };
}
