import type { AttributeTagScope, Block, BlockInfo, SearchOptions, TagQuery, TagRef, TypedValue } from '../block/block.js';
import { decodedTagNames, decodedTagValues } from '../block/decoded-tags.js';
import type { BlockSearchFilter } from '../block/search.js';
import type { TraceRecord } from '../model/trace-record.js';
import { mergeTraces } from '../otlp/trace-encode.js';
import type { HeadBlock } from './head-block.js';

/**
 * A tenant's recent data as one Block: its head blocks (the one taking pushes and those being
 * written to the backend), seen together so a trace whose spans sit in two head blocks is searched
 * whole. Spans live in the head block files, so search reads and decodes them: there are no columns
 * to pre-filter by, and every trace goes to the evaluator. Tag lists without a filter come from each
 * head block's tag index (head-tags.ts).
 */
export class RecentBlock implements Block {
  readonly info: BlockInfo;

  /** `heads`: newest first, none empty. */
  constructor(
    tenant: string,
    private readonly heads: readonly HeadBlock[],
  ) {
    let start = Infinity;
    let end = 0;
    let bytes = 0;
    for (const h of heads) {
      start = Math.min(start, h.startNs / 1e6);
      end = Math.max(end, h.endNs / 1e6);
      bytes += h.bytes;
    }
    this.info = { id: `recent-${tenant}`, tenant, startMs: start, endMs: end, bytes, spansAlsoElsewhere: true };
  }

  async findTrace(traceId: string): Promise<Uint8Array[]> {
    const parts: Uint8Array[] = [];
    for (const h of this.heads) if (h.has(traceId)) parts.push(...h.read(traceId));
    return parts;
  }

  // No columns to narrow by: every trace is a candidate, whatever the filter.
  async *search(_filter: BlockSearchFilter, opts: SearchOptions): AsyncGenerator<TraceRecord[]> {
    let batch: TraceRecord[] = [];
    for (const rec of this.all()) {
      batch.push(rec);
      if (opts.stats !== undefined) {
        opts.stats.inspectedTraces++;
        opts.stats.inspectedBytes += rec.trace.byteLength;
      }
      if (batch.length >= Math.max(1, opts.batchSize())) {
        opts.signal?.throwIfAborted();
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  // Without `q`, each head block's tag index answers; with it, traces are evaluated to find the matching spans.
  async tagNames(scopes: readonly AttributeTagScope[], q: TagQuery): Promise<Map<AttributeTagScope, Set<string>>> {
    if (q.run !== null) return decodedTagNames(this.all(), scopes, q.run, q.signal);
    const out = new Map<AttributeTagScope, Set<string>>(scopes.map((s) => [s, new Set<string>()]));
    for (const h of this.heads) {
      await h.tags.catchUp(q.signal);
      for (const [scope, names] of h.tags.tagNames(scopes)) for (const n of names) out.get(scope)?.add(n);
    }
    return out;
  }

  async tagValues(tag: TagRef, q: TagQuery): Promise<TypedValue[]> {
    if (q.run !== null) return decodedTagValues(this.all(), tag, q.run, q.signal);
    const out = new Map<string, TypedValue>();
    for (const h of this.heads) {
      await h.tags.catchUp(q.signal);
      for (const v of h.tags.tagValues(tag)) out.set(`${v.type}\u0000${v.value}`, v);
    }
    return [...out.values()];
  }

  async *traces(): AsyncGenerator<TraceRecord> {
    yield* this.all();
  }

  /** Every trace, each once, merged across head blocks; newest head block first. */
  private *all(): Generator<TraceRecord> {
    const heads = this.heads;
    const seen = heads.length > 1 ? new Set<string>() : null;
    for (const h of heads) {
      for (const traceId of h.traceIds()) {
        if (seen !== null) {
          if (seen.has(traceId)) continue;
          seen.add(traceId);
        }
        const parts = heads.flatMap((x) => (x.has(traceId) ? x.read(traceId) : []));
        if (parts.length === 0) continue;
        yield { traceId, trace: parts.length === 1 ? parts[0]! : mergeTraces(parts) };
      }
    }
  }
}
