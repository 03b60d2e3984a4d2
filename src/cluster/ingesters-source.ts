/**
 * The querier's view of recent data in distributed mode: every live ingester's head blocks, seen as
 * one Block. Searches and tag look-ups are evaluated on the ingesters (SearchRecent, TagNames,
 * TagValues), so only matching trace IDs and tag sets cross the wire; the matching traces are then
 * fetched whole from every readable ingester and merged, since a trace is written to several
 * ingesters (replication) and one that was down for a while holds only part of it. Metrics still
 * pull every recent trace, merged by trace and span ID, and the block is marked spansAlsoElsewhere
 * so metrics count each span once against stored blocks too.
 */
import type { AttributeTagScope, Block, BlockInfo, BlockSource, SearchOptions, TagQuery, TagRef, TypedValue } from '../block/block.js';
import { decodedTagNames, decodedTagValues } from '../block/decoded-tags.js';
import type { BlockSearchFilter } from '../block/search.js';
import type { TraceRecord } from '../model/trace-record.js';
import { mergeTraces } from '../otlp/trace-encode.js';
import type { Logger } from 'pino';
import type { RingInstance, RingView } from './ring.js';
import { encodeQuery } from './query-wire.js';
import type { IngesterClient, SearchRecentRequest } from './rpc.js';

export interface IngestersSourceOptions {
  readonly ring: () => RingView;
  readonly client: (inst: RingInstance) => IngesterClient;
  /** Replicas per trace: up to RF-1 ingesters may fail to answer without losing data. */
  readonly replicationFactor: number;
  readonly heartbeatTimeoutMs: number;
  readonly timeoutMs: number;
  readonly logger: Logger;
}

interface Range {
  startMs?: number;
  endMs?: number;
}

/** Ingesters that can answer reads: registered and heartbeating, ACTIVE or LEAVING (not still replaying). */
function readable(view: RingView, now: number, timeoutMs: number): { ask: RingInstance[]; down: number } {
  const ask: RingInstance[] = [];
  let down = 0;
  for (const inst of view.instances) {
    const fresh = timeoutMs <= 0 || now - inst.heartbeatMs <= timeoutMs;
    if (fresh && (inst.state === 'ACTIVE' || inst.state === 'LEAVING')) ask.push(inst);
    else down++;
  }
  return { ask, down };
}

export class IngestersSource implements BlockSource {
  constructor(private readonly opts: IngestersSourceOptions) {}

  async blocks(tenant: string, range: Range = {}): Promise<Block[]> {
    return [new IngestersBlock(tenant, range, this.opts)];
  }
}

class IngestersBlock implements Block {
  readonly info: BlockInfo;
  private merged: Promise<TraceRecord[]> | null = null;

  constructor(
    private readonly tenant: string,
    private readonly range: Range,
    private readonly opts: IngestersSourceOptions,
  ) {
    this.info = { id: `ingesters-${tenant}`, tenant, startMs: range.startMs ?? 0, endMs: Date.now(), bytes: 0, spansAlsoElsewhere: true };
  }

  /** Asks every readable ingester; fails when more than RF-1 could not answer (data could be missing). */
  private async fromAll<T>(ask: (c: IngesterClient) => Promise<T>): Promise<T[]> {
    const { ask: targets, down } = readable(this.opts.ring(), Date.now(), this.opts.heartbeatTimeoutMs);
    const results = await Promise.allSettled(targets.map((inst) => ask(this.opts.client(inst))));
    const out: T[] = [];
    let failed = down;
    for (const r of results) {
      if (r.status === 'fulfilled') out.push(r.value);
      else {
        failed++;
        this.opts.logger.warn({ err: String(r.reason) }, 'an ingester did not answer a read');
      }
    }
    this.checkFailures(failed);
    return out;
  }

  private checkFailures(failed: number): void {
    if (failed > this.opts.replicationFactor - 1) {
      throw new Error(`${failed} ingesters could not be read and replication factor is ${this.opts.replicationFactor}: recent data may be incomplete`);
    }
  }

  // Every readable ingester, not only the trace's owners in today's ring: after ingesters joined or
  // left, parts of a trace sit on ingesters that no longer own it, and asking them all is complete.
  async findTrace(traceId: string): Promise<Uint8Array[]> {
    const lists = await this.fromAll((c) => c.findTrace({ tenant: this.tenant, traceId, ...this.range }, this.opts.timeoutMs));
    return lists.flat();
  }

  /** Every ingester's recent traces, merged by trace ID (duplicate spans dropped). */
  private all(): Promise<TraceRecord[]> {
    this.merged ??= (async () => {
      const lists = await this.fromAll(async (c) => {
        const recs: TraceRecord[] = [];
        for await (const batch of c.recentTraces({ tenant: this.tenant, ...this.range }, this.opts.timeoutMs)) recs.push(...batch);
        return recs;
      });
      const byId = new Map<string, Uint8Array[]>();
      for (const list of lists) {
        for (const r of list) {
          const parts = byId.get(r.traceId);
          if (parts === undefined) byId.set(r.traceId, [r.trace]);
          else parts.push(r.trace);
        }
      }
      const out: TraceRecord[] = [];
      for (const [traceId, parts] of byId) out.push({ traceId, trace: parts.length === 1 ? parts[0]! : mergeTraces(parts) });
      return out;
    })();
    return this.merged;
  }

  /**
   * With the query at hand (the Searcher sets it), the search runs on the ingesters (pushdown): each
   * streams the IDs of its traces that match, then every candidate is fetched whole from every
   * readable ingester and merged, because a trace sits on replication_factor ingesters and one that
   * was down for a while holds only part of it. The merged traces go to the querier's evaluator, which
   * has the final say, in batches as it asks, so it stops the ingesters once it has enough.
   *
   * Known and accepted edge (Tempo has it too): a trace that matches only once two partial copies are
   * merged, and on neither copy alone, is not found in recent data, nor in the replicas' flushed
   * blocks until the compactor merges them. With quorum writes that takes several ingesters each
   * missing a different part of the trace.
   *
   * Order: each ingester sends its newest head block's matches first; within a head block there is
   * no per-trace time to order by without decoding every trace.
   */
  async *search(filter: BlockSearchFilter, opts: SearchOptions): AsyncGenerator<TraceRecord[]> {
    if (filter.query === undefined) {
      yield* this.searchPulled(opts);
      return;
    }
    const { ask: targets, down } = readable(this.opts.ring(), Date.now(), this.opts.heartbeatTimeoutMs);
    const failed = new Set<string>();
    const check = (): void => this.checkFailures(down + failed.size);
    check();
    const want = (): number => Math.max(1, opts.batchSize());
    // Each trace sits on about min(RF, ingesters) of them, so that share of a batch from each adds up
    // to about a batch of distinct traces; an ingester that uses its credit up is granted more.
    const copies = Math.min(this.opts.replicationFactor, Math.max(1, targets.length));
    const share = (n: number): number => Math.max(1, Math.ceil((n * copies) / Math.max(1, targets.length)));
    const req: SearchRecentRequest = {
      tenant: this.tenant,
      ...this.range,
      query: encodeQuery(filter.query),
      ...(filter.startNs !== undefined ? { startNs: String(filter.startNs) } : {}),
      ...(filter.endNs !== undefined ? { endNs: String(filter.endNs) } : {}),
      ...(filter.minTraceDurationNs !== undefined ? { minDurationNs: String(filter.minTraceDurationNs) } : {}),
      ...(filter.maxTraceDurationNs !== undefined ? { maxDurationNs: String(filter.maxTraceDurationNs) } : {}),
      credit: share(want()),
    };
    // Candidate IDs from every ingester, each once, in the order they arrive.
    const queue: string[] = [];
    const seen = new Set<string>();
    let wake: (() => void) | null = null;
    const poke = (): void => {
      const w = wake;
      wake = null;
      w?.();
    };
    const streams = targets.map((inst) => {
      const call = this.opts.client(inst).searchRecent(req, this.opts.timeoutMs);
      const st = { inst, call, outstanding: req.credit, done: false };
      void (async () => {
        try {
          for await (const ids of call.ids) {
            st.outstanding -= ids.length;
            for (const id of ids) {
              if (seen.has(id)) continue;
              seen.add(id);
              queue.push(id);
            }
            poke();
          }
        } catch (err) {
          if (!st.done) {
            failed.add(inst.addr);
            this.opts.logger.warn({ err: String(err) }, 'an ingester did not answer a search');
          }
        } finally {
          st.done = true;
          poke();
        }
      })();
      return st;
    });
    const onAbort = (): void => poke();
    opts.signal?.addEventListener('abort', onAbort);
    try {
      for (;;) {
        const n = want();
        while (queue.length < n && streams.some((st) => !st.done)) {
          for (const st of streams) {
            if (!st.done && st.outstanding <= 0) {
              const more = share(n - queue.length);
              st.outstanding += more;
              st.call.more(more);
            }
          }
          await new Promise<void>((r) => (wake = r));
          opts.signal?.throwIfAborted();
          check();
        }
        opts.signal?.throwIfAborted();
        check();
        if (queue.length === 0) return;
        const batch = await this.wholeTraces(queue.splice(0, n), targets, failed, opts.signal);
        check();
        if (opts.stats !== undefined) {
          opts.stats.inspectedTraces += batch.length;
          for (const r of batch) opts.stats.inspectedBytes += r.trace.byteLength;
        }
        if (batch.length > 0) yield batch;
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      for (const st of streams) {
        if (!st.done) {
          // Stopped by us: not a failure of the ingester.
          st.done = true;
          st.call.cancel();
        }
      }
    }
  }

  /** Each trace merged from the parts every readable ingester holds (replicas and partial copies). */
  private async wholeTraces(ids: string[], targets: readonly RingInstance[], failed: Set<string>, signal?: AbortSignal): Promise<TraceRecord[]> {
    const asked = targets.filter((inst) => !failed.has(inst.addr));
    const answers = await Promise.allSettled(
      asked.map((inst) => this.opts.client(inst).findTraces({ tenant: this.tenant, traceIds: ids, ...this.range }, this.opts.timeoutMs, signal)),
    );
    signal?.throwIfAborted();
    const found: Map<string, Uint8Array[]>[] = [];
    answers.forEach((r, i) => {
      if (r.status === 'fulfilled') found.push(r.value);
      else {
        failed.add(asked[i]!.addr);
        this.opts.logger.warn({ err: String(r.reason) }, 'an ingester did not answer a read');
      }
    });
    const out: TraceRecord[] = [];
    for (const traceId of ids) {
      const parts = found.flatMap((m) => m.get(traceId) ?? []);
      // Gone meanwhile (flushed and dropped from every ingester): the stored block has it.
      if (parts.length === 0) continue;
      out.push({ traceId, trace: parts.length === 1 ? parts[0]! : mergeTraces(parts) });
    }
    return out;
  }

  /**
   * Without the query (metrics, which pass only conditions): every recent trace is pulled, merged
   * across ingesters and a candidate, as in RecentBlock. Metrics keep this on purpose: a span stored
   * on three ingesters must be counted once, and its spans noted so stored copies skip them, which
   * adding up per-ingester answers would not do exactly; narrowing the pull by the conditions on the
   * ingester would also leave those notes incomplete.
   */
  private async *searchPulled(opts: SearchOptions): AsyncGenerator<TraceRecord[]> {
    const all = await this.all();
    for (let i = 0; i < all.length; ) {
      opts.signal?.throwIfAborted();
      const n = Math.max(1, opts.batchSize());
      const batch = all.slice(i, i + n);
      i += n;
      if (opts.stats !== undefined) {
        opts.stats.inspectedTraces += batch.length;
        for (const r of batch) opts.stats.inspectedBytes += r.trace.byteLength;
      }
      yield batch;
    }
  }

  /** Evaluated on each ingester; the answers are sets, so their union is the answer. */
  async tagNames(scopes: readonly AttributeTagScope[], q: TagQuery): Promise<Map<AttributeTagScope, Set<string>>> {
    if (q.run !== null && q.query === undefined) return decodedTagNames(await this.all(), scopes, q.run, q.signal);
    const req = { tenant: this.tenant, ...this.range, scopes, ...(q.query !== undefined ? { query: encodeQuery(q.query) } : {}) };
    const lists = await this.fromAll((c) => c.tagNames(req, this.opts.timeoutMs, q.signal));
    const found = new Map<AttributeTagScope, Set<string>>(scopes.map((s) => [s, new Set<string>()]));
    for (const names of lists) for (const [scope, keys] of names) for (const k of keys) found.get(scope)?.add(k);
    return found;
  }

  /** Evaluated on each ingester, de-duplicated by type and value here (limits and byte bounds are the TagService's). */
  async tagValues(tag: TagRef, q: TagQuery): Promise<TypedValue[]> {
    if (q.run !== null && q.query === undefined) return decodedTagValues(await this.all(), tag, q.run, q.signal);
    const req = { tenant: this.tenant, ...this.range, tag, ...(q.query !== undefined ? { query: encodeQuery(q.query) } : {}) };
    const lists = await this.fromAll((c) => c.tagValues(req, this.opts.timeoutMs, q.signal));
    const out = new Map<string, TypedValue>();
    for (const l of lists) for (const v of l) out.set(`${v.type}\u0000${v.value}`, v);
    return [...out.values()];
  }

  /** Every recent trace, merged across ingesters (the pull path; see searchPulled). */
  async *traces(): AsyncGenerator<TraceRecord> {
    yield* await this.all();
  }
}
