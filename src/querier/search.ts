import { blocksOf, type BlockSource } from '../block/block.js';
import type { BlockSearchFilter, BlockSearchStats } from '../block/search.js';
import type { TraceRecord } from '../model/trace-record.js';
import { Counter } from 'prom-client';
import { registry } from '../metrics/registry.js';
import { decodeTrace } from '../otlp/trace-decode.js';
import { buildEvalTrace, compile, extractConditions, type CompiledQuery, type EvalTrace, type QueryConditions, type RootExpr } from '../traceql/index.js';
import {
  estimatedResultBytes,
  searchMetricsFor,
  shownFields,
  toSearchTrace,
  type SearchMetrics,
  type SearchResult,
  type SearchTrace,
} from './search-result.js';

const searchesTruncated = new Counter({
  name: 'rubato_search_truncated_total',
  help: 'Searches that stopped collecting results at query_frontend.search.max_response_bytes before reaching their limit.',
  registers: [registry],
});

export interface SearchRequest {
  /** A parsed spanset query (metrics queries are refused before this point). */
  readonly query: RootExpr;
  readonly limit: number;
  /** Spans shown per spanset. */
  readonly spss: number;
  /** Unix ms: traces must overlap [startMs, endMs]. */
  readonly startMs?: number;
  readonly endMs?: number;
  /** Trace duration bounds in ns (minDuration / maxDuration). */
  readonly minDurationNs?: bigint;
  readonly maxDurationNs?: bigint;
  /** Stops the search (deadline, client gone): it rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * Stop collecting once the results would take about this many bytes in the answer (0: no bound):
   * whatever `limit` asks, one search cannot hold gigabytes.
   */
  readonly maxResultBytes?: number;
  /**
   * Called after each block is read with the answer so far (Grafana's streaming search shows partial
   * answers); `partial()` builds it, so a caller that skips a message pays nothing.
   */
  readonly onProgress?: (partial: () => SearchResult) => void;
}

/**
 * Search: one loop over the tenant's blocks, newest first, recent data and stored blocks alike. Each
 * block hands over its candidate traces (a SQL pre-filter narrows stored blocks; head blocks hand
 * over what they hold), and the evaluator decides. The search stops once `limit` traces are found,
 * unless the query asks `with(most_recent=true)`.
 */
export class Searcher {
  constructor(private readonly sources: readonly BlockSource[]) {}

  async search(tenant: string, req: SearchRequest): Promise<SearchResult> {
    const run = compile(req.query);
    const shown = shownFields(req.query);
    const conditions = extractConditions(req.query);
    const mostRecent = hasMostRecentHint(req.query);
    const found = new Map<string, SearchTrace>();
    const blocks = await blocksOf(this.sources, tenant, { startMs: req.startMs, endMs: req.endMs });
    const metrics = searchMetricsFor(blocks);
    const range = timeRangeNs(req);
    const filter = blockFilter(conditions, req, range);
    const maxBytes = req.maxResultBytes ?? 0;
    let resultBytes = 0;
    let truncated = false;
    const enough = (): boolean => truncated || (!mostRecent && found.size >= req.limit);
    const consider = (rec: TraceRecord): void => {
      if (found.has(rec.traceId)) return;
      const t = evaluateRecord(rec, run, req, range, shown);
      metrics.inspectedTraces++;
      metrics.inspectedBytes += rec.trace.byteLength;
      metrics.inspectedSpans += t.spans;
      if (t.result === null) return;
      found.set(rec.traceId, t.result);
      if (maxBytes > 0) {
        resultBytes += estimatedResultBytes(t.result);
        if (resultBytes >= maxBytes) truncated = true;
      }
    };

    for (const block of blocks) {
      if (enough()) break;
      req.signal?.throwIfAborted();
      const stats: BlockSearchStats = { inspectedTraces: 0, inspectedBytes: 0, candidateRows: 0 };
      // Ask for a little more than is missing: some candidates fail the full evaluation.
      const batchSize = (): number => (mostRecent ? 256 : Math.min(256, Math.max(8, (req.limit - found.size) * 2)));
      let slice = performance.now();
      for await (const batch of block.search(filter, { batchSize, stats, ...(req.signal !== undefined ? { signal: req.signal } : {}) })) {
        for (const rec of batch) {
          consider(rec);
          if (enough()) break;
          // Evaluating a big batch takes a while: let pushes be acknowledged meanwhile.
          if (performance.now() - slice > 10) {
            await new Promise((r) => setImmediate(r));
            req.signal?.throwIfAborted();
            slice = performance.now();
          }
        }
        if (enough()) break;
      }
      metrics.completedJobs++;
      req.onProgress?.(() => answer(found, req.limit, metrics));
    }

    if (truncated) searchesTruncated.inc();
    return answer(found, req.limit, metrics);
  }
}

/** The traces found so far, newest first, cut to the limit. */
function answer(found: ReadonlyMap<string, SearchTrace>, limit: number, metrics: SearchMetrics): SearchResult {
  const traces = [...found.values()].sort((a, b) => (a.startUnixNano < b.startUnixNano ? 1 : a.startUnixNano > b.startUnixNano ? -1 : 0));
  return { traces: traces.slice(0, limit), metrics: { ...metrics } };
}

interface RangeNs {
  readonly startNs?: bigint;
  readonly endNs?: bigint;
}

function timeRangeNs(req: SearchRequest): RangeNs {
  const out: { startNs?: bigint; endNs?: bigint } = {};
  if (req.startMs !== undefined) out.startNs = BigInt(Math.floor(req.startMs)) * 1_000_000n;
  if (req.endMs !== undefined) out.endNs = BigInt(Math.ceil(req.endMs)) * 1_000_000n;
  return out;
}

function evaluateRecord(
  rec: TraceRecord,
  run: CompiledQuery,
  req: SearchRequest,
  range: RangeNs,
  shown: ReturnType<typeof shownFields>,
): { result: SearchTrace | null; spans: number } {
  const trace = buildEvalTrace(decodeTrace(rec.trace));
  const spans = trace.spans.length;
  if (!withinBounds(trace, range, req)) return { result: null, spans };
  return { result: toSearchTrace(trace, run(trace), shown, req.spss), spans };
}

/** The time range and trace duration bounds of a search. */
function withinBounds(trace: EvalTrace, range: RangeNs, req: { readonly minDurationNs?: bigint; readonly maxDurationNs?: bigint }): boolean {
  const end = trace.startUnixNano + trace.durationNano;
  if (range.startNs !== undefined && end < range.startNs) return false;
  if (range.endNs !== undefined && trace.startUnixNano > range.endNs) return false;
  if (req.minDurationNs !== undefined && trace.durationNano < req.minDurationNs) return false;
  if (req.maxDurationNs !== undefined && trace.durationNano > req.maxDurationNs) return false;
  return true;
}

/**
 * The Searcher's test of one candidate, for evaluating where the data is (an ingester answering a
 * querier's search of recent data) with this same evaluator: the filter's time range and duration
 * bounds, then the query.
 */
export function candidateMatcher(query: RootExpr, filter: BlockSearchFilter): (rec: TraceRecord) => boolean {
  const run = compile(query);
  const range: RangeNs = { startNs: filter.startNs, endNs: filter.endNs };
  const bounds = { minDurationNs: filter.minTraceDurationNs, maxDurationNs: filter.maxTraceDurationNs };
  return (rec) => {
    const trace = buildEvalTrace(decodeTrace(rec.trace));
    return withinBounds(trace, range, bounds) && run(trace).length > 0;
  };
}

function blockFilter(conditions: QueryConditions, req: SearchRequest, range: RangeNs): BlockSearchFilter {
  const minMatchingSpans = countThreshold(req.query, conditions);
  return {
    conditions,
    query: req.query,
    ...range,
    ...(req.minDurationNs !== undefined ? { minTraceDurationNs: req.minDurationNs } : {}),
    ...(req.maxDurationNs !== undefined ? { maxTraceDurationNs: req.maxDurationNs } : {}),
    ...(minMatchingSpans > 1 ? { minMatchingSpans } : {}),
  };
}

/**
 * `{ F } | count() > n` needs more than n spans matching F, and every span matching F passes the
 * pre-filter, so a trace with fewer pre-filtered rows cannot match. 1 when the query is not of that form.
 */
export function countThreshold(root: RootExpr, conditions: QueryConditions): number {
  if (root.kind !== 'spansetQuery' || conditions.conditions.length === 0) return 1;
  const [first, second] = root.pipeline.stages;
  if (first?.kind !== 'filter' || second?.kind !== 'scalarFilter') return 1;
  const { lhs, rhs, op } = second;
  if (lhs.kind !== 'aggregate' || lhs.fn !== 'count' || rhs.kind !== 'scalarStatic') return 1;
  const v = rhs.value;
  if (v.type !== 'int' && v.type !== 'float') return 1;
  const k = v.value;
  if (op === '>') return Math.floor(k) + 1;
  if (op === '>=' || op === '=') return Math.ceil(k);
  return 1;
}

export function hasMostRecentHint(root: RootExpr): boolean {
  return root.hints.some((h) => h.name === 'most_recent' && h.value.type === 'bool' && h.value.value);
}
