/**
 * How the query frontend cuts one query into jobs for the queriers, as Tempo's frontend shards:
 * a search into groups of stored blocks of about `query_frontend.search.target_bytes_per_job` each,
 * newest first, plus one job over recent data (the ingesters); a TraceQL metrics range query into
 * step-aligned sub-ranges of about `query_frontend.metrics.interval`. Pure functions, so the plans are
 * unit-tested without a cluster.
 */
import { alignRange, type MetricsFn, type MetricsRange, type RootExpr } from '../traceql/index.js';

/** A stored block as the planner needs it (from its meta.json). */
export interface BlockRef {
  readonly id: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly bytes: number;
}

export type SearchJob = { readonly kind: 'recent' } | { readonly kind: 'blocks'; readonly blockIds: readonly string[]; readonly bytes: number };

export interface SearchPlanSettings {
  /** query_frontend.search.target_bytes_per_job; 0: one block per job. */
  readonly targetBytesPerJob: number;
  /** query_frontend.search.query_backend_after: stored blocks are read for data older than this; 0: all. */
  readonly queryBackendAfterMs: number;
  /** query_frontend.search.query_ingesters_until: recent data is read when the range reaches this close to now; 0: always. */
  readonly queryIngestersUntilMs: number;
}

/**
 * The jobs of a search over [startMs, endMs] (either may be absent: unbounded, as in one process).
 * With a range, recent data is read when the range ends within the last query_ingesters_until, and
 * stored blocks only for the part older than query_backend_after — kept no larger than
 * query_ingesters_until, so no stretch of time is left to neither. Without a range every block and
 * the recent data are read, as the single process does. A block just flushed can be read by both
 * the recent-data job and a block job: the frontend merges results by trace ID.
 */
export function planSearchJobs(
  blocks: readonly BlockRef[],
  range: { readonly startMs?: number; readonly endMs?: number },
  nowMs: number,
  s: SearchPlanSettings,
): SearchJob[] {
  const jobs: SearchJob[] = [];
  const bounded = range.startMs !== undefined || range.endMs !== undefined;
  const endMs = range.endMs ?? nowMs;
  const until = s.queryIngestersUntilMs;
  if (!bounded || until <= 0 || endMs > nowMs - until) jobs.push({ kind: 'recent' });
  const after = until > 0 ? Math.min(s.queryBackendAfterMs, until) : s.queryBackendAfterMs;
  const backendEnd = bounded && after > 0 ? Math.min(endMs, nowMs - after) : Number.POSITIVE_INFINITY;
  const startMs = range.startMs ?? Number.NEGATIVE_INFINITY;
  if (backendEnd < startMs) return jobs;
  const chosen = blocks.filter((b) => b.endMs >= startMs && b.startMs <= backendEnd).sort((a, b) => b.endMs - a.endMs || (a.id < b.id ? -1 : 1));
  let ids: string[] = [];
  let bytes = 0;
  for (const b of chosen) {
    ids.push(b.id);
    bytes += b.bytes;
    if (bytes >= s.targetBytesPerJob) {
      jobs.push({ kind: 'blocks', blockIds: ids, bytes });
      ids = [];
      bytes = 0;
    }
  }
  if (ids.length > 0) jobs.push({ kind: 'blocks', blockIds: ids, bytes });
  return jobs;
}

/** One time job of a metrics query: the range to ask for, and where its intervals sit in the whole answer. */
export interface MetricsJob {
  /** The range as MetricsQuerier takes it (it aligns it to the step the same way as the whole). */
  readonly range: MetricsRange;
  /** Index of its first interval in the whole answer. */
  readonly offset: number;
  /** Its aligned [start, end] in ns (for choosing its sources). */
  readonly alignedStartNs: bigint;
  readonly alignedEndNs: bigint;
}

const COUNTING: ReadonlySet<MetricsFn> = new Set(['rate', 'count_over_time', 'histogram_over_time', 'quantile_over_time']);

/**
 * Whether each output point of a query is computed from the spans of its own interval alone, so
 * sub-ranges can be evaluated apart and put side by side: one metrics function without second
 * stages. compare() ranks attribute values over the whole range, topk/bottomk and filters rank or drop
 * series across points, arithmetic pairs series by what the whole range holds: those run as one job.
 */
export function splittableByTime(root: RootExpr): boolean {
  if (root.kind !== 'metricsQuery') return false;
  const m = root.metrics;
  return m.kind === 'metricsPipeline' && m.stages.length === 0 && m.aggregation.fn !== 'compare';
}

/**
 * The value a series has at an interval where it saw no span: 0 for counting functions, no sample
 * (NaN) for the others — what a series missing from one job's answer stands for there.
 */
export function emptyIntervalValue(root: RootExpr): number {
  if (root.kind !== 'metricsQuery' || root.metrics.kind !== 'metricsPipeline') return Number.NaN;
  return COUNTING.has(root.metrics.aggregation.fn) ? 0 : Number.NaN;
}

/**
 * Step-aligned sub-ranges of about `intervalNs` each (at least one step). A query that cannot be
 * split, an instant query, or one that fits in one sub-range is one job with the range as asked.
 */
export function planMetricsJobs(range: MetricsRange, intervalNs: bigint, splittable: boolean): MetricsJob[] {
  const whole = (): MetricsJob[] => {
    const a = alignRange(range);
    return [{ range, offset: 0, alignedStartNs: a.startNs, alignedEndNs: a.endNs }];
  };
  if (!splittable || range.instant || range.stepNs <= 0n || intervalNs <= 0n) return whole();
  const all = alignRange(range);
  const step = all.stepNs;
  // The querier re-aligns each job's range: asking from one step after a job's start makes it start
  // there (alignRange steps back once), which needs the start past the first step.
  if (all.startNs <= step) return whole();
  const intervals = Number((all.endNs - all.startNs) / step);
  const per = Math.max(1, Math.round(Number(intervalNs / step)));
  if (intervals <= per) return whole();
  const jobs: MetricsJob[] = [];
  for (let first = 0; first < intervals; first += per) {
    const a = all.startNs + BigInt(first) * step;
    const b = all.startNs + BigInt(Math.min(intervals, first + per)) * step;
    const r: MetricsRange = { startNs: a + step, endNs: b, stepNs: step, instant: false };
    const back = alignRange(r);
    if (back.startNs !== a || back.endNs !== b) return whole();
    jobs.push({ range: r, offset: first, alignedStartNs: a, alignedEndNs: b });
  }
  return jobs;
}
