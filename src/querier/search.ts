import { blockKeys, cachedBlockKeys } from '../block/tags.js';
import { searchBlock, type BlockSearchFilter, type BlockSearchStats } from '../block/search.js';
import type { TraceRecord } from '../model/trace-record.js';
import { decodeTrace } from '../otlp/trace-decode.js';
import { buildEvalTrace, compile, extractConditions, type CompiledQuery, type QueryConditions, type RootExpr } from '../traceql/index.js';
import type { Blocklist } from './blocklist.js';
import { shownFields, toSearchTrace, type SearchMetrics, type SearchResult, type SearchTrace } from './search-result.js';

/** Recent traces of a tenant (live traces and head blocks): the ingester in monolithic mode. */
export interface RecentTraceSource {
  /** Recent traces, skipping data wholly outside [startMs, endMs] where it can tell cheaply. */
  recentTraces(tenant: string, range?: { startMs?: number; endMs?: number }): Iterable<TraceRecord>;
}

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
}

/**
 * Search over recent data and blocks. Recent traces are evaluated directly; blocks, newest first,
 * are narrowed by the SQL pre-filter and only their candidate traces are evaluated. The search stops
 * once `limit` traces are found, unless the query asks `with(most_recent=true)`.
 */
export class Searcher {
  constructor(
    private readonly blocks: Blocklist,
    private readonly recent: RecentTraceSource | null,
  ) {}

  async search(tenant: string, req: SearchRequest): Promise<SearchResult> {
    const run = compile(req.query);
    const shown = shownFields(req.query);
    const conditions = extractConditions(req.query);
    const mostRecent = hasMostRecentHint(req.query);
    const found = new Map<string, SearchTrace>();
    const readers = (await this.blocks.readers(tenant, req.startMs, req.endMs)).sort((a, b) =>
      a.meta.endTime < b.meta.endTime ? 1 : a.meta.endTime > b.meta.endTime ? -1 : 0,
    );
    const metrics: SearchMetrics = {
      inspectedTraces: 0,
      inspectedBytes: 0,
      inspectedSpans: 0,
      totalBlocks: readers.length,
      totalBlockBytes: readers.reduce((n, r) => n + r.meta.size, 0),
      completedJobs: 0,
      totalJobs: readers.length + (this.recent === null ? 0 : 1),
    };
    const range = timeRangeNs(req);
    const enough = (): boolean => !mostRecent && found.size >= req.limit;
    const consider = (rec: TraceRecord): void => {
      if (found.has(rec.traceId)) return;
      const t = evaluateRecord(rec, run, req, range, shown);
      metrics.inspectedTraces++;
      metrics.inspectedBytes += rec.trace.byteLength;
      metrics.inspectedSpans += t.spans;
      if (t.result !== null) found.set(rec.traceId, t.result);
    };

    if (this.recent !== null) {
      let slice = performance.now();
      for (const rec of this.recent.recentTraces(tenant, { startMs: req.startMs, endMs: req.endMs })) {
        consider(rec);
        if (enough()) break;
        // A big head block takes a while to scan: let pushes be acknowledged meanwhile.
        if (performance.now() - slice > 10) {
          await new Promise((r) => setImmediate(r));
          slice = performance.now();
        }
      }
      metrics.completedJobs++;
    }

    for (const reader of readers) {
      if (enough()) break;
      const file = reader.parquetPath();
      if (file === null) continue;
      const filter = await blockFilter(file, conditions, req, range);
      const stats: BlockSearchStats = { inspectedTraces: 0, inspectedBytes: 0, candidateRows: 0 };
      // Ask for a little more than is missing: some candidates fail the full evaluation.
      const batchSize = (): number => (mostRecent ? 256 : Math.min(256, Math.max(8, (req.limit - found.size) * 2)));
      for await (const batch of searchBlock(file, filter, batchSize, stats)) {
        for (const rec of batch) {
          consider(rec);
          if (enough()) break;
        }
        if (enough()) break;
      }
      metrics.completedJobs++;
    }

    const traces = [...found.values()].sort((a, b) => (a.startUnixNano < b.startUnixNano ? 1 : a.startUnixNano > b.startUnixNano ? -1 : 0));
    return { traces: traces.slice(0, req.limit), metrics };
  }
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
  const end = trace.startUnixNano + trace.durationNano;
  if (range.startNs !== undefined && end < range.startNs) return { result: null, spans };
  if (range.endNs !== undefined && trace.startUnixNano > range.endNs) return { result: null, spans };
  if (req.minDurationNs !== undefined && trace.durationNano < req.minDurationNs) return { result: null, spans };
  if (req.maxDurationNs !== undefined && trace.durationNano > req.maxDurationNs) return { result: null, spans };
  return { result: toSearchTrace(trace, run(trace), shown, req.spss), spans };
}

async function blockFilter(file: string, conditions: QueryConditions, req: SearchRequest, range: RangeNs): Promise<BlockSearchFilter> {
  // Unscoped attributes are a span or a resource attribute: knowing which keys the block has avoids
  // reading both attribute lists for every row (the key list is read once per block and cached).
  const unscoped = conditions.conditions.some((c) => c.scope === 'none');
  const keys = unscoped ? await blockKeys(file) : cachedBlockKeys(file);
  const minMatchingSpans = countThreshold(req.query, conditions);
  return {
    conditions,
    ...range,
    ...(req.minDurationNs !== undefined ? { minTraceDurationNs: req.minDurationNs } : {}),
    ...(req.maxDurationNs !== undefined ? { maxTraceDurationNs: req.maxDurationNs } : {}),
    ...(minMatchingSpans > 1 ? { minMatchingSpans } : {}),
    ...(keys !== undefined ? { keys } : {}),
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

function hasMostRecentHint(root: RootExpr): boolean {
  return root.hints.some((h) => h.name === 'most_recent' && h.value.type === 'bool' && h.value.value);
}
