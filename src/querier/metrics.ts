import { createHash } from 'node:crypto';
import { blocksOf, type BlockSource } from '../block/block.js';
import type { BlockSearchFilter, BlockSearchStats } from '../block/search.js';
import { decodeTrace } from '../otlp/trace-decode.js';
import {
  alignRange,
  buildEvalTrace,
  columnarPlan,
  compileMetrics,
  exemplarsWanted,
  extractConditions,
  type EvalSpan,
  type MetricsRange,
  type MetricsResult,
  type RootExpr,
} from '../traceql/index.js';
import { searchMetricsFor, type SearchMetrics } from './search-result.js';

/**
 * TraceQL metrics (/api/metrics/query_range and /api/metrics/query): one loop over the tenant's
 * blocks, newest first, with blocks whose spans may also sit elsewhere (Block.info.spansAlsoElsewhere)
 * before the rest. Each block hands over the traces its pre-filter keeps (the metrics query's
 * conditions and the time range), the engine selects and counts spans; a simple query (see
 * traceql/metrics-plan.ts) is aggregated by columnar blocks themselves. A span in two blocks is
 * counted once: the span IDs of the first kind are noted, and those spans skipped in the others.
 */

export interface MetricsRequest {
  /** A parsed query (validated here: a spanset query is refused). */
  readonly query: RootExpr;
  /** The range as asked; range queries are aligned to the step here, as Tempo's frontend does. */
  readonly range: MetricsRange;
  /** Exemplars per series asked for (the query's `with(exemplars=…)` overrides it). */
  readonly exemplars: number;
  /** Series before the answer is cut and marked partial (Tempo's max_response_series); 0 or absent: no limit. */
  readonly maxSeries?: number;
  readonly signal?: AbortSignal;
  /**
   * Called after each block is read with the answer so far (Grafana's streaming metrics show partial
   * answers); `partial()` builds it, so a caller that skips a message pays nothing.
   */
  readonly onProgress?: (partial: () => MetricsAnswer) => void;
}

export interface MetricsAnswer extends MetricsResult {
  readonly metrics: SearchMetrics;
  /** Set when the series limit cut the answer short, with Tempo's message. */
  readonly partial?: string;
}

export class MetricsQuerier {
  constructor(private readonly sources: readonly BlockSource[]) {}

  async query(tenant: string, req: MetricsRequest): Promise<MetricsAnswer> {
    const range = alignRange(req.range);
    const evaluator = compileMetrics(req.query, range, { exemplars: exemplarsWanted(req.query, req.exemplars) });
    const startMs = Number(range.startNs / 1_000_000n);
    const endMs = Number(range.endNs / 1_000_000n) + 1;
    const all = await blocksOf(this.sources, tenant, { startMs, endMs });
    // Blocks whose spans may repeat elsewhere first: their spans are noted to skip the copies later.
    const blocks = [...all.filter((b) => b.info.spansAlsoElsewhere === true), ...all.filter((b) => b.info.spansAlsoElsewhere !== true)];
    const metrics = searchMetricsFor(blocks);
    const filter: BlockSearchFilter = { conditions: extractConditions(req.query), startNs: range.startNs, endNs: range.endNs };
    const repeatedSpans = new Map<string, Set<string>>();
    // Digests of the copies of each trace that spansAlsoElsewhere blocks counted: their spans are all in repeatedSpans.
    const countedCopies = new Map<string, string[]>();
    // Simple queries are aggregated by columnar blocks themselves (one GROUP BY per block).
    const plan = columnarPlan(req.query);
    let slice = performance.now();
    const maxSeries = req.maxSeries ?? 0;
    const full = (): boolean => maxSeries > 0 && evaluator.seriesCount() >= maxSeries;
    const answer = (): MetricsAnswer => {
      const result = evaluator.results();
      if (maxSeries > 0 && (full() || result.series.length > maxSeries)) {
        return {
          ...result,
          series: result.series.slice(0, maxSeries),
          metrics: { ...metrics },
          partial: `Response exceeds maximum series limit of ${maxSeries}, a partial response is returned. Warning: the accuracy of each individual value is not guaranteed.`,
        };
      }
      return { ...result, metrics: { ...metrics } };
    };
    for (const block of blocks) {
      if (full()) break;
      req.signal?.throwIfAborted();
      const repeated = block.info.spansAlsoElsewhere === true;
      if (plan !== null && !repeated && block.metricsGroups !== undefined) {
        const groups = await block.metricsGroups(plan, {
          startNs: range.startNs,
          endNs: range.endNs,
          stepNs: range.stepNs,
          instant: range.instant,
          exemplars: evaluator.exemplarSpansWanted(),
          exclude: repeatedSpans,
          ...(req.signal !== undefined ? { signal: req.signal } : {}),
        });
        if (groups !== null) {
          evaluator.observeGroups(groups);
          for (const g of groups) metrics.inspectedSpans += g.count;
          metrics.inspectedBytes += block.info.bytes;
          metrics.completedJobs++;
          req.onProgress?.(answer);
          continue;
        }
      }
      const stats: BlockSearchStats = { inspectedTraces: 0, inspectedBytes: 0, candidateRows: 0 };
      const opts = { batchSize: () => 256, stats, ...(req.signal !== undefined ? { signal: req.signal } : {}) };
      for await (const batch of block.search(filter, opts)) {
        if (full()) break;
        for (const rec of batch) {
          // Counting a big block takes a while: let pushes be acknowledged meanwhile.
          if (performance.now() - slice > 10) {
            await new Promise((r) => setImmediate(r));
            req.signal?.throwIfAborted();
            slice = performance.now();
          }
          metrics.inspectedTraces++;
          metrics.inspectedBytes += rec.trace.byteLength;
          // A copy byte for byte like one already counted (replica blocks of the ingesters that were
          // all up) adds no span: skipped without decoding, which is most of the cost.
          const digest = repeated ? copyDigest(rec.trace) : '';
          const copies = repeated ? countedCopies.get(rec.traceId) : undefined;
          if (copies?.includes(digest) === true) continue;
          const trace = buildEvalTrace(decodeTrace(rec.trace));
          metrics.inspectedSpans += trace.spans.length;
          let skip: ((s: EvalSpan) => boolean) | undefined;
          if (repeated) {
            if (copies === undefined) countedCopies.set(rec.traceId, [digest]);
            else copies.push(digest);
            let ids = repeatedSpans.get(trace.traceId);
            if (ids === undefined) repeatedSpans.set(trace.traceId, (ids = new Set()));
            // Such blocks may repeat each other too (replicas in distributed mode): count what an earlier one did not.
            if (ids.size > 0) {
              const counted = new Set(ids);
              skip = (s) => counted.has(s.spanId);
            }
            for (const s of trace.spans) ids.add(s.spanId);
          } else {
            const ids = repeatedSpans.get(trace.traceId);
            if (ids !== undefined) skip = (s) => ids.has(s.spanId);
          }
          evaluator.observe(trace, skip);
        }
      }
      metrics.completedJobs++;
      req.onProgress?.(answer);
    }
    return answer();
  }
}

/** Identifies an encoded trace copy (SHA-256: two different copies never pass for one). */
function copyDigest(trace: Uint8Array): string {
  return createHash('sha256').update(trace).digest('base64');
}
