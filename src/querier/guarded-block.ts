import type { AttributeTagScope, Block, BlockInfo, SearchOptions, TagQuery, TagRef, TypedValue } from '../block/block.js';
import type { BlockSearchFilter } from '../block/search.js';
import type { TraceRecord } from '../model/trace-record.js';
import type { BlockMetricsQuery } from '../block/metrics.js';
import type { ColumnarGroup, ColumnarPlan } from '../traceql/index.js';

/**
 * A stored block as queries see it: a failure that is not the query's own (its deadline, its client
 * leaving) goes to `onFailure`, which decides: a damaged block is quarantined and answers nothing, so
 * one bad block never fails every search; anything else is thrown on.
 */
export class GuardedBlock implements Block {
  constructor(
    private readonly inner: Block,
    /** Resolves when the failure was handled (the block answers nothing); rejects to throw it on. */
    private readonly onFailure: (err: unknown) => Promise<void>,
  ) {}

  get info(): BlockInfo {
    return this.inner.info;
  }

  async findTrace(traceId: string, signal?: AbortSignal): Promise<Uint8Array[]> {
    try {
      return await this.inner.findTrace(traceId, signal);
    } catch (err) {
      await this.fail(err, signal);
      return [];
    }
  }

  async *search(filter: BlockSearchFilter, opts: SearchOptions): AsyncGenerator<TraceRecord[]> {
    try {
      yield* this.inner.search(filter, opts);
    } catch (err) {
      await this.fail(err, opts.signal);
    }
  }

  async tagNames(scopes: readonly AttributeTagScope[], q: TagQuery): Promise<Map<AttributeTagScope, Set<string>>> {
    try {
      return await this.inner.tagNames(scopes, q);
    } catch (err) {
      await this.fail(err, q.signal);
      return new Map();
    }
  }

  async tagValues(tag: TagRef, q: TagQuery): Promise<TypedValue[]> {
    try {
      return await this.inner.tagValues(tag, q);
    } catch (err) {
      await this.fail(err, q.signal);
      return [];
    }
  }

  async *traces(signal?: AbortSignal): AsyncGenerator<TraceRecord> {
    try {
      yield* this.inner.traces(signal);
    } catch (err) {
      await this.fail(err, signal);
    }
  }

  async metricsGroups(plan: ColumnarPlan, q: BlockMetricsQuery): Promise<ColumnarGroup[] | null> {
    if (this.inner.metricsGroups === undefined) return null;
    try {
      return await this.inner.metricsGroups(plan, q);
    } catch (err) {
      await this.fail(err, q.signal);
      return [];
    }
  }

  private async fail(err: unknown, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted === true) throw signal.reason;
    await this.onFailure(err);
  }
}
