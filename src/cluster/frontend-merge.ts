/**
 * How the query frontend puts its jobs' answers back together. Search: traces by trace ID — one
 * found by several jobs (parts of it in different blocks, or the same spans in an ingester and in a
 * block just flushed) is combined, not listed twice — then newest first, cut to the limit. Metrics:
 * each job answered a run of whole intervals, so its series' points are laid side by side.
 */
import type { MetricsAnswer } from '../querier/metrics.js';
import {
  estimatedResultBytes,
  ROOT_SPAN_NOT_YET_RECEIVED,
  type SearchMetrics,
  type SearchResult,
  type SearchSpanSet,
  type SearchTrace,
  type ServiceStats,
} from '../querier/search-result.js';
import type { MetricsExemplar, MetricsSeries } from '../traceql/index.js';

export function emptySearchMetrics(): SearchMetrics {
  return { inspectedTraces: 0, inspectedBytes: 0, inspectedSpans: 0, totalBlocks: 0, totalBlockBytes: 0, completedJobs: 0, totalJobs: 0 };
}

/** Adds what a job inspected (its own block and job counts are the frontend's to set). */
export function addInspected(into: SearchMetrics, m: SearchMetrics): void {
  into.inspectedTraces += m.inspectedTraces;
  into.inspectedBytes += m.inspectedBytes;
  into.inspectedSpans += m.inspectedSpans;
}

const spansetKey = (ss: SearchSpanSet): string => JSON.stringify(ss.attributes);

/**
 * Two jobs' views of one spanset: spans united by span ID (at most `spss` shown). When every span one
 * side shows is also shown by the other, both read the same spans (a replica, or an ingester and the
 * block it just flushed) and the larger count stands; otherwise they read different parts of the
 * trace and the counts add up, less the spans seen twice.
 */
function mergeSpanSets(a: SearchSpanSet, b: SearchSpanSet, spss: number): SearchSpanSet {
  const shown = new Set(a.spans.map((s) => s.spanId));
  const extra = b.spans.filter((s) => !shown.has(s.spanId));
  const overlap = b.spans.length - extra.length;
  const same = extra.length === 0 && (b.spans.length > 0 || b.matched <= a.matched);
  const matched = same ? Math.max(a.matched, b.matched) : a.matched + b.matched - overlap;
  const spans =
    extra.length === 0 ? a.spans : [...a.spans, ...extra].sort((x, y) => (x.startUnixNano < y.startUnixNano ? -1 : x.startUnixNano > y.startUnixNano ? 1 : 0));
  return { matched, attributes: a.attributes, spans: spans.slice(0, Math.max(0, spss)) };
}

// Math.min does not take bigints.
const earlier = (x: bigint, y: bigint): bigint => (y < x ? y : x);

/**
 * One trace found by two jobs: earliest start, the end of whichever ends last, root fields from the
 * side that has the root span, spansets merged (see mergeSpanSets), per-service counts the larger of
 * the two (a side may have read the same spans again).
 */
export function mergeSearchTraces(a: SearchTrace, b: SearchTrace, spss: number): SearchTrace {
  const root = a.rootServiceName !== ROOT_SPAN_NOT_YET_RECEIVED || b.rootServiceName === ROOT_SPAN_NOT_YET_RECEIVED ? a : b;
  const MS = 1_000_000n;
  const start = earlier(a.startUnixNano, b.startUnixNano);
  const endA = a.startUnixNano + BigInt(a.durationMs) * MS;
  const endB = b.startUnixNano + BigInt(b.durationMs) * MS;
  const end = endA + endB - earlier(endA, endB);
  const sets = new Map<string, SearchSpanSet>();
  for (const ss of a.spanSets) sets.set(spansetKey(ss), ss);
  for (const ss of b.spanSets) {
    const k = spansetKey(ss);
    const cur = sets.get(k);
    sets.set(k, cur === undefined ? ss : mergeSpanSets(cur, ss, spss));
  }
  const serviceStats = new Map<string, ServiceStats>();
  for (const [svc, st] of a.serviceStats) serviceStats.set(svc, { ...st });
  for (const [svc, st] of b.serviceStats) {
    const cur = serviceStats.get(svc);
    serviceStats.set(
      svc,
      cur === undefined ? { ...st } : { spanCount: Math.max(cur.spanCount, st.spanCount), errorCount: Math.max(cur.errorCount, st.errorCount) },
    );
  }
  return {
    traceId: a.traceId,
    rootServiceName: root.rootServiceName,
    rootTraceName: root.rootTraceName !== '' ? root.rootTraceName : a.rootTraceName || b.rootTraceName,
    startUnixNano: start,
    durationMs: Number((end - start) / MS),
    spanSets: [...sets.values()],
    serviceStats,
  };
}

/** The traces of a search's jobs so far, merged. */
export class SearchMerger {
  private readonly found = new Map<string, SearchTrace>();
  private resultBytes = 0;
  readonly metrics: SearchMetrics = emptySearchMetrics();

  constructor(
    private readonly limit: number,
    private readonly spss: number,
    /** query_frontend.search.max_response_bytes; 0: no bound. */
    private readonly maxResultBytes: number,
  ) {}

  add(r: SearchResult): void {
    addInspected(this.metrics, r.metrics);
    for (const t of r.traces) {
      const cur = this.found.get(t.traceId);
      if (cur === undefined) {
        this.found.set(t.traceId, t);
        if (this.maxResultBytes > 0) this.resultBytes += estimatedResultBytes(t);
      } else this.found.set(t.traceId, mergeSearchTraces(cur, t, this.spss));
    }
  }

  /** No more jobs need starting: the limit is reached (unless the newest are wanted) or the answer is as big as allowed. */
  enough(mostRecent: boolean): boolean {
    return this.truncated() || (!mostRecent && this.found.size >= this.limit);
  }

  truncated(): boolean {
    return this.maxResultBytes > 0 && this.resultBytes >= this.maxResultBytes;
  }

  answer(): SearchResult {
    const traces = [...this.found.values()].sort((a, b) => (a.startUnixNano < b.startUnixNano ? 1 : a.startUnixNano > b.startUnixNano ? -1 : 0));
    return { traces: traces.slice(0, this.limit), metrics: { ...this.metrics } };
  }
}

/** A metrics job's answer and where its intervals start in the whole. */
export interface MetricsPart {
  readonly offset: number;
  readonly answer: MetricsAnswer;
}

export interface MetricsMergeOptions {
  /** Intervals of the whole answer and their sample times. */
  readonly timestampsMs: readonly number[];
  /** A series' value where its job did not see it (see emptyIntervalValue). */
  readonly emptyValue: number;
  /** Exemplars kept per series. */
  readonly exemplarsPerSeries: number;
  /** query_frontend.metrics.max_response_series; 0: no limit. */
  readonly maxSeries: number;
}

/** Every n-th of `xs` so that `max` remain, spread over the whole list (exemplars over the whole range). */
function spread<T>(xs: readonly T[], max: number): T[] {
  if (xs.length <= max) return [...xs];
  if (max <= 0) return [];
  return Array.from({ length: max }, (_, i) => xs[Math.floor((i * xs.length) / max)]!);
}

/**
 * Time jobs' answers laid side by side: a series is the union of its points in every job, and in a
 * job that did not see it, the value a series has where it saw no span. Intervals of jobs not (yet)
 * answered have no samples. Series appear in the order they first appear, jobs taken in time order.
 */
export function mergeMetricsParts(parts: readonly MetricsPart[], opts: MetricsMergeOptions): MetricsAnswer {
  const n = opts.timestampsMs.length;
  const ordered = [...parts].sort((a, b) => a.offset - b.offset);
  const series = new Map<string, { labels: MetricsSeries['labels']; values: number[]; exemplars: MetricsExemplar[] }>();
  const metrics = emptySearchMetrics();
  let partial: string | undefined;
  for (const p of ordered) {
    addInspected(metrics, p.answer.metrics);
    metrics.totalBlocks += p.answer.metrics.totalBlocks;
    metrics.totalBlockBytes += p.answer.metrics.totalBlockBytes;
    partial ??= p.answer.partial;
    for (const s of p.answer.series) {
      const key = JSON.stringify(s.labels);
      let cur = series.get(key);
      if (cur === undefined) {
        cur = { labels: s.labels, values: new Array<number>(n).fill(Number.NaN), exemplars: [] };
        // Answered intervals where this series had no span.
        for (const q of ordered) for (let i = 0; i < q.answer.timestampsMs.length; i++) if (q.offset + i < n) cur.values[q.offset + i] = opts.emptyValue;
        series.set(key, cur);
      }
      s.values.forEach((v, i) => {
        if (p.offset + i < n) cur.values[p.offset + i] = v;
      });
      cur.exemplars.push(...s.exemplars);
    }
  }
  let out: MetricsSeries[] = [...series.values()].map((s) => ({ labels: s.labels, values: s.values, exemplars: spread(s.exemplars, opts.exemplarsPerSeries) }));
  if (opts.maxSeries > 0 && out.length > opts.maxSeries) {
    out = out.slice(0, opts.maxSeries);
    partial ??= `Response exceeds maximum series limit of ${opts.maxSeries}, a partial response is returned. Warning: the accuracy of each individual value is not guaranteed.`;
  }
  return { series: out, timestampsMs: [...opts.timestampsMs], metrics, ...(partial !== undefined ? { partial } : {}) };
}
