/**
 * The querier's view of recent data in distributed mode: every live ingester's head blocks, seen as
 * one Block. A trace is written to several ingesters (replication), and one that was down for a while
 * holds only part of it, so answers are merged across ingesters by trace and span ID before the
 * querier sees them — search then evaluates whole traces, and the block is marked
 * spansAlsoElsewhere so metrics count each span once against stored blocks too.
 */
import type { AttributeTagScope, Block, BlockInfo, BlockSource, SearchOptions, TagQuery, TagRef, TypedValue } from '../block/block.js';
import { decodedTagNames, decodedTagValues } from '../block/decoded-tags.js';
import type { BlockSearchFilter } from '../block/search.js';
import type { TraceRecord } from '../model/trace-record.js';
import { mergeTraces } from '../otlp/trace-encode.js';
import type { Logger } from 'pino';
import type { RingInstance, RingView } from './ring.js';
import type { IngesterClient } from './rpc.js';

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
    if (failed > this.opts.replicationFactor - 1) {
      throw new Error(`${failed} ingesters could not be read and replication factor is ${this.opts.replicationFactor}: recent data may be incomplete`);
    }
    return out;
  }

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

  // Head blocks have no columns to narrow by: every trace is a candidate, as in RecentBlock.
  async *search(_filter: BlockSearchFilter, opts: SearchOptions): AsyncGenerator<TraceRecord[]> {
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

  async tagNames(scopes: readonly AttributeTagScope[], q: TagQuery): Promise<Map<AttributeTagScope, Set<string>>> {
    return decodedTagNames(await this.all(), scopes, q.run, q.signal);
  }

  async tagValues(tag: TagRef, q: TagQuery): Promise<TypedValue[]> {
    return decodedTagValues(await this.all(), tag, q.run, q.signal);
  }

  async *traces(): AsyncGenerator<TraceRecord> {
    yield* await this.all();
  }
}
