import type { ColumnarGroup, ColumnarPlan, CompiledQuery, IntrinsicName, RootExpr } from '../traceql/index.js';
import type { BlockMetricsQuery } from './metrics.js';
import type { TraceRecord } from '../model/trace-record.js';
import type { BlockSearchFilter, BlockSearchStats } from './search.js';

/**
 * The one seam between queries and storage. Recent data (the ingester's head blocks) and stored
 * Parquet blocks both implement `Block`, so trace by ID, search and tags are one loop over blocks,
 * newest first, whatever the block is or where it is kept. Each implementation answers as fast as it
 * can (SQL pre-filter and row-group pruning for Parquet, a scan for head blocks); the TraceQL
 * evaluator always has the final say on search results.
 */

export interface BlockInfo {
  readonly id: string;
  readonly tenant: string;
  /** Earliest span start and latest span end, unix ms. */
  readonly startMs: number;
  readonly endMs: number;
  /** Bytes of span data, for search metrics. */
  readonly bytes: number;
  /**
   * Its spans may also sit in other blocks (a block that is being written into other blocks, such as
   * the ingester's head blocks while they are flushed): queries that must count each span once read
   * such blocks first, span by span, and skip those spans in the others.
   */
  readonly spansAlsoElsewhere?: boolean;
}

/** A tag as the values endpoints name it: an attribute of a scope, or an intrinsic. */
export type TagRef =
  | { readonly kind: 'attribute'; readonly scope: 'none' | AttributeTagScope; readonly key: string }
  | { readonly kind: 'intrinsic'; readonly name: IntrinsicName };

/** Scopes that hold attributes, as /api/v2/search/tags names them. */
export type AttributeTagScope = 'resource' | 'span' | 'event' | 'link' | 'instrumentation';

export type TagValueType = 'string' | 'int' | 'float' | 'bool';

export interface TypedValue {
  readonly type: TagValueType;
  readonly value: string;
}

/** What narrows a tag request (`q` and the time range). */
export interface TagQuery {
  /** Pre-filter for blocks that filter by columns (only a plain conjunction narrows, as Tempo's autocomplete). */
  readonly filter: BlockSearchFilter;
  /** The `q` query compiled, for blocks that evaluate traces; null without `q`. */
  readonly run: CompiledQuery | null;
  /** `q` itself, for blocks that evaluate it elsewhere (the ingesters in distributed mode); absent without `q`. */
  readonly query?: RootExpr;
  readonly signal?: AbortSignal;
}

export interface SearchOptions {
  /** Traces wanted in the next batch; asked before every batch, so it can shrink as results fill up. */
  batchSize(): number;
  readonly signal?: AbortSignal;
  /** Counters the block adds to. */
  readonly stats?: BlockSearchStats;
}

export interface Block {
  readonly info: BlockInfo;
  /** Encoded tempopb.Trace parts of the trace held here; empty when none. */
  findTrace(traceId: string, signal?: AbortSignal): Promise<Uint8Array[]>;
  /**
   * Candidate traces for a search, whole, in batches: every trace that may match `filter` (and
   * perhaps more). Stop early by returning from the iteration.
   */
  search(filter: BlockSearchFilter, opts: SearchOptions): AsyncIterable<TraceRecord[]>;
  /** Attribute keys per scope among spans passing the query. */
  tagNames(scopes: readonly AttributeTagScope[], q: TagQuery): Promise<Map<AttributeTagScope, Set<string>>>;
  /** Distinct values of a tag among spans passing the query. */
  tagValues(tag: TagRef, q: TagQuery): Promise<TypedValue[]>;
  /** Every trace, in trace ID order where the block is sorted (Parquet), else in no set order. */
  traces(signal?: AbortSignal): AsyncIterable<TraceRecord>;
  /**
   * Metrics aggregated by the block itself (columnar blocks): the groups of a simple metrics query,
   * or null when the block cannot answer the plan exactly; the querier then evaluates its traces.
   */
  metricsGroups?(plan: ColumnarPlan, q: BlockMetricsQuery): Promise<ColumnarGroup[] | null>;
}

/** Where a querier finds blocks: the ingester's recent data, the backend's block list. */
export interface BlockSource {
  /** The tenant's blocks overlapping [startMs, endMs] (either may be omitted). */
  blocks(tenant: string, range?: { startMs?: number; endMs?: number }): Promise<Block[]>;
}

/** Blocks of every source, newest end first. */
export async function blocksOf(sources: readonly BlockSource[], tenant: string, range?: { startMs?: number; endMs?: number }): Promise<Block[]> {
  const lists = await Promise.all(sources.map((s) => s.blocks(tenant, range)));
  return lists.flat().sort((a, b) => b.info.endMs - a.info.endMs);
}
