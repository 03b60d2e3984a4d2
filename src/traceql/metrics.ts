import type { FieldExpr, MetricsAggregation, MetricsExpr, MetricsSecondStage, RootExpr, StaticValue } from './ast.js';
import { TraceQLUnsupportedError } from './errors.js';
import { compileFieldValue, compilePipeline, fieldResultValue, type CompiledQuery, type FieldValue, type ResultValue, numberComparator } from './eval.js';
import { fieldType } from './field-type.js';
import { formatField } from './format.js';
import type { ColumnarGroup } from './metrics-plan.js';
import { IntervalMapper, log2Bucketize, log2Quantile, type HistogramBucket, type MetricsRange } from './metrics-range.js';
import type { EvalSpan, EvalTrace } from './span-model.js';
import { validate } from './validate.js';

/**
 * The TraceQL metrics engine (rate, *_over_time, quantiles, histograms, compare, topk/bottomk,
 * comparisons and arithmetic on series), with Tempo 2.10's semantics. It knows nothing of storage:
 * the querier feeds it traces (the spans a block holds of them) and asks for the series at the end.
 * Duration values are in seconds, as Tempo writes them.
 */

export interface SeriesLabel {
  readonly name: string;
  readonly value: ResultValue;
}

export interface MetricsExemplar {
  readonly labels: readonly SeriesLabel[];
  readonly value: number;
  readonly timestampMs: number;
}

export interface MetricsSeries {
  readonly labels: readonly SeriesLabel[];
  /** One value per interval; NaN where the series has no sample. */
  readonly values: number[];
  readonly exemplars: MetricsExemplar[];
}

export interface MetricsResult {
  readonly series: MetricsSeries[];
  /** Sample time (unix ms) of each interval. */
  readonly timestampsMs: readonly number[];
}

export interface MetricsOptions {
  /** Exemplars wanted per series (0: none); hints in the query override it. */
  readonly exemplars: number;
}

const NIL: StaticValue = { type: 'nil' };
const EXEMPLARS_PER_BUCKET = 2;

/** Exemplars a query asks for: `with(exemplars=N|false)` overrides the request's number. */
export function exemplarsWanted(root: RootExpr, requested: number): number {
  const h = root.hints.find((x) => x.name === 'exemplars');
  if (h !== undefined) {
    if (h.value.type === 'int') return Math.max(0, h.value.value);
    if (h.value.type === 'bool' && !h.value.value) return 0;
  }
  return requested;
}

/** Validates a metrics query and builds its evaluator; throws TraceQL errors for anything else. */
export function compileMetrics(root: RootExpr, range: MetricsRange, opts: MetricsOptions): MetricsEvaluator {
  validate(root);
  if (root.kind !== 'metricsQuery')
    throw new TraceQLUnsupportedError('a spanset query on the metrics endpoints (want `… | rate()` or another metrics function)');
  return new MetricsEvaluator(root.metrics, range, opts);
}

export class MetricsEvaluator {
  readonly mapper: IntervalMapper;
  private readonly leaves: Leaf[] = [];
  private readonly exemplarTraces = new Set<string>();
  private readonly maxExemplars: number;
  spansObserved = 0;

  constructor(
    private readonly expr: MetricsExpr,
    readonly range: MetricsRange,
    opts: MetricsOptions,
  ) {
    this.mapper = new IntervalMapper(range);
    this.maxExemplars = range.instant ? 0 : Math.max(0, opts.exemplars);
    collectLeaves(expr, (p) =>
      this.leaves.push(new Leaf(p.pipeline.stages.length === 0 ? null : compilePipeline(p.pipeline), p.aggregation, this.mapper, this.maxExemplars)),
    );
  }

  /**
   * Feeds one trace (or the part of it one block holds). `skip` leaves out spans already counted
   * from another block (a span stored both in recent data and in a block counts once).
   */
  observe(trace: EvalTrace, skip?: (s: EvalSpan) => boolean): void {
    for (const leaf of this.leaves) {
      const spans = leaf.select(trace);
      const valid: EvalSpan[] = [];
      for (const s of spans) {
        if (this.mapper.interval(s.startUnixNano) < 0) continue;
        if (skip !== undefined && skip(s)) continue;
        valid.push(s);
      }
      if (valid.length === 0) continue;
      this.spansObserved += valid.length;
      for (const s of valid) leaf.observe(s, trace);
      if (this.maxExemplars > 0 && this.exemplarTraces.size < this.maxExemplars * 64 && !this.exemplarTraces.has(trace.traceId)) {
        this.exemplarTraces.add(trace.traceId);
        leaf.observeExemplar(valid[Math.floor(Math.random() * valid.length)]!, trace);
      }
    }
  }

  /**
   * Groups a columnar block computed for `plan` (only a query with a columnar plan has one leaf).
   * An exemplar is taken from a group whose trace gave none yet.
   */
  observeGroups(groups: readonly ColumnarGroup[]): void {
    const leaf = this.leaves[0];
    if (leaf === undefined || this.leaves.length !== 1) throw new Error('observeGroups: not a columnar query');
    for (const g of groups) {
      this.spansObserved += g.count;
      const exemplar = g.traceId !== '' && this.exemplarSpansWanted() > 0 && !this.exemplarTraces.has(g.traceId);
      if (exemplar) this.exemplarTraces.add(g.traceId);
      leaf.observeGroup(g, exemplar);
    }
  }

  /** Spans to offer for exemplars (the querier asks blocks for that many); 0 when none are wanted. */
  exemplarSpansWanted(): number {
    return this.maxExemplars > 0 && this.exemplarTraces.size < this.maxExemplars * 64 ? this.maxExemplars * 4 : 0;
  }

  /** Series so far (first-stage series of every pipeline, then second stages and arithmetic). */
  seriesCount(): number {
    return this.leaves.reduce((n, l) => n + l.seriesCount(), 0);
  }

  results(): MetricsResult {
    let next = 0;
    const evalExpr = (e: MetricsExpr): MetricsSeries[] | number => {
      switch (e.kind) {
        case 'metricsPipeline':
          return applyStages(this.leaves[next++]!.results(), e.stages);
        case 'metricsScalar':
          return e.value;
        case 'metricsMath':
          return combine(e.op, evalExpr(e.lhs), evalExpr(e.rhs), this.mapper.count);
        case 'metricsStaged': {
          const inner = evalExpr(e.expr);
          return typeof inner === 'number' ? inner : applyStages(inner, e.stages);
        }
      }
    };
    const out = evalExpr(this.expr);
    const series = typeof out === 'number' ? [] : out.filter((s) => s.values.some((v) => !Number.isNaN(v)));
    const timestampsMs = Array.from({ length: this.mapper.count }, (_, i) => this.mapper.timestampMs(i));
    return { series, timestampsMs };
  }
}

type PipelineExpr = Extract<MetricsExpr, { kind: 'metricsPipeline' }>;

function collectLeaves(e: MetricsExpr, f: (p: PipelineExpr) => void): void {
  switch (e.kind) {
    case 'metricsPipeline':
      f(e);
      return;
    case 'metricsScalar':
      return;
    case 'metricsMath':
      collectLeaves(e.lhs, f);
      collectLeaves(e.rhs, f);
      return;
    case 'metricsStaged':
      collectLeaves(e.expr, f);
  }
}

// ---- first stage: spans into series ----

type Getter = (s: EvalSpan, t: EvalTrace) => FieldValue;

interface SeriesState {
  readonly labels: SeriesLabel[];
  /** count, sum, min or max per interval (by function). */
  readonly values: Float64Array;
  /** avg_over_time: counts per interval. */
  readonly counts: Float64Array | null;
  /** quantile_over_time: log2 bucket counts per interval. */
  readonly buckets: Map<number, number>[] | null;
  readonly exemplars: MetricsExemplar[];
  readonly exemplarSlots: Int32Array;
}

/** One metrics pipeline: its spanset selection and its aggregation, series by by() values. */
class Leaf {
  private readonly series = new Map<string, SeriesState>();
  private readonly by: { name: string; get: Getter; type: ReturnType<typeof fieldType> }[];
  private readonly value: ((s: EvalSpan, t: EvalTrace) => number) | null;
  private readonly bucketOf: ((s: EvalSpan, t: EvalTrace) => number) | null;
  private readonly compare: Compare | null;

  constructor(
    private readonly run: CompiledQuery | null,
    private readonly agg: MetricsAggregation,
    private readonly mapper: IntervalMapper,
    private readonly maxExemplars: number,
  ) {
    this.by = agg.by.map((e) => ({ name: formatField(e), get: compileFieldValue(e), type: fieldType(e) }));
    this.value = agg.attr === null ? null : numericGetter(agg.attr);
    this.bucketOf = agg.fn === 'quantile_over_time' || agg.fn === 'histogram_over_time' ? bucketGetter(agg.attr) : null;
    this.compare = agg.fn === 'compare' ? new Compare(agg, mapper) : null;
  }

  /** The spans of a trace the pipeline selects, each once. */
  select(trace: EvalTrace): readonly EvalSpan[] {
    if (this.run === null) return trace.spans;
    const sets = this.run(trace);
    if (sets.length === 1) return sets[0]!.spans;
    const seen = new Set<EvalSpan>();
    for (const ss of sets) for (const s of ss.spans) seen.add(s);
    return [...seen];
  }

  seriesCount(): number {
    return this.compare !== null ? this.compare.seriesCount() : this.series.size;
  }

  observe(s: EvalSpan, t: EvalTrace): void {
    if (this.compare !== null) {
      this.compare.observe(s, t);
      return;
    }
    const i = this.mapper.interval(s.startUnixNano);
    if (i < 0) return;
    let bucket = 0;
    if (this.bucketOf !== null) {
      bucket = this.bucketOf(s, t);
      if (bucket < 0) return;
    }
    const st = this.seriesFor(s, t);
    switch (this.agg.fn) {
      case 'rate':
      case 'count_over_time':
        st.values[i]! += 1;
        return;
      case 'quantile_over_time':
      case 'histogram_over_time': {
        const b = st.buckets![i]!;
        b.set(bucket, (b.get(bucket) ?? 0) + 1);
        return;
      }
      default: {
        const v = this.value!(s, t);
        if (Number.isNaN(v)) return;
        const cur = st.values[i]!;
        switch (this.agg.fn) {
          case 'min_over_time':
            if (Number.isNaN(cur) || v < cur) st.values[i] = v;
            return;
          case 'max_over_time':
            if (Number.isNaN(cur) || v > cur) st.values[i] = v;
            return;
          default:
            st.values[i] = Number.isNaN(cur) ? v : cur + v;
            if (st.counts !== null) st.counts[i]! += 1;
        }
      }
    }
  }

  observeExemplar(s: EvalSpan, t: EvalTrace): void {
    if (this.compare !== null) return;
    if (this.bucketOf !== null && this.bucketOf(s, t) < 0) return;
    const value = this.value === null || this.agg.fn === 'histogram_over_time' ? NaN : this.value(s, t);
    this.addExemplar(this.seriesFor(s, t), Number(s.startUnixNano / 1_000_000n), value, t.traceId, s.spanId);
  }

  private addExemplar(st: SeriesState, tsMs: number, value: number, traceId: string, spanId: string): void {
    if (st.exemplars.length >= this.maxExemplars) return;
    // At most two exemplars per slice of the range, so they spread over the graph.
    const slots = st.exemplarSlots.length;
    const span = Math.max(1, (this.mapper.endMs - this.mapper.startMs) / slots);
    const slot = Math.min(slots - 1, Math.max(0, Math.floor((tsMs - this.mapper.startMs) / span)));
    if (st.exemplarSlots[slot]! >= EXEMPLARS_PER_BUCKET) return;
    st.exemplarSlots[slot]!++;
    const labels: SeriesLabel[] = [
      { name: 'trace:id', value: { type: 'string', value: traceId } },
      { name: 'span:id', value: { type: 'string', value: spanId } },
    ];
    st.exemplars.push({ labels, value, timestampMs: tsMs });
  }

  /** A group a columnar block aggregated (see metrics-plan.ts): the same as observing its spans one by one. */
  observeGroup(g: ColumnarGroup, exemplar: boolean): void {
    const i = g.interval;
    if (i < 0 || i >= this.mapper.count) return;
    const st = this.seriesForValues(this.by.map((b, k) => fieldResultValue(g.values[k], b.type)));
    const fn = this.agg.fn;
    if (g.count > 0)
      switch (fn) {
        case 'rate':
        case 'count_over_time':
          st.values[i]! += g.count;
          break;
        case 'quantile_over_time':
        case 'histogram_over_time': {
          const bucket = 2 ** g.bucketExp / 1e9;
          const b = st.buckets![i]!;
          b.set(bucket, (b.get(bucket) ?? 0) + g.count);
          break;
        }
        case 'min_over_time': {
          const cur = st.values[i]!;
          const v = g.min / 1e9;
          if (Number.isNaN(cur) || v < cur) st.values[i] = v;
          break;
        }
        case 'max_over_time': {
          const cur = st.values[i]!;
          const v = g.max / 1e9;
          if (Number.isNaN(cur) || v > cur) st.values[i] = v;
          break;
        }
        default: {
          const cur = st.values[i]!;
          st.values[i] = (Number.isNaN(cur) ? 0 : cur) + g.sum / 1e9;
          if (st.counts !== null) st.counts[i]! += g.count;
        }
      }
    if (exemplar && this.maxExemplars > 0 && g.traceId !== '') {
      const value = this.value === null || fn === 'histogram_over_time' ? NaN : g.durationNs / 1e9;
      this.addExemplar(st, Number(g.startNs / 1_000_000n), value, g.traceId, g.spanId);
    }
  }

  private seriesFor(s: EvalSpan, t: EvalTrace): SeriesState {
    return this.seriesForValues(this.by.map((b) => fieldResultValue(b.get(s, t), b.type)));
  }

  private seriesForValues(vals: readonly (ResultValue | undefined)[]): SeriesState {
    let key = '';
    for (const v of vals) key += v === undefined ? '\u0000nil' : `\u0000${v.type}:${JSON.stringify(v)}`;
    let st = this.series.get(key);
    if (st === undefined) {
      const n = this.mapper.count;
      const fn = this.agg.fn;
      const counting = fn === 'rate' || fn === 'count_over_time';
      const labels: SeriesLabel[] = [];
      this.by.forEach((b, i) => {
        const v = vals[i];
        if (v !== undefined && v.type !== 'nil') labels.push({ name: b.name, value: v });
      });
      if (labels.length === 0 && this.by.length > 0) labels.push({ name: this.by[0]!.name, value: NIL });
      st = {
        labels,
        values: new Float64Array(n).fill(counting ? 0 : NaN),
        counts: fn === 'avg_over_time' ? new Float64Array(n) : null,
        buckets: fn === 'quantile_over_time' || fn === 'histogram_over_time' ? Array.from({ length: n }, () => new Map<number, number>()) : null,
        exemplars: [],
        exemplarSlots: new Int32Array(Math.max(1, Math.floor(this.maxExemplars / EXEMPLARS_PER_BUCKET))),
      };
      this.series.set(key, st);
    }
    return st;
  }

  results(): MetricsSeries[] {
    if (this.compare !== null) return this.compare.results();
    const fn = this.agg.fn;
    const out: MetricsSeries[] = [];
    const named = (labels: SeriesLabel[]): SeriesLabel[] => (this.by.length === 0 ? [{ name: '__name__', value: { type: 'string', value: fn } }] : labels);
    for (const st of this.series.values()) {
      switch (fn) {
        case 'rate': {
          const mult = 1 / this.mapper.stepSeconds;
          out.push({ labels: named(st.labels), values: Array.from(st.values, (v) => v * mult), exemplars: st.exemplars });
          break;
        }
        case 'avg_over_time':
          out.push({
            labels: named(st.labels),
            values: Array.from(st.values, (v, i) => (st.counts![i]! > 0 ? v / st.counts![i]! : NaN)),
            exemplars: st.exemplars,
          });
          break;
        case 'histogram_over_time': {
          const all = new Set<number>();
          for (const b of st.buckets!) for (const k of b.keys()) all.add(k);
          for (const bucket of [...all].sort((a, b) => a - b)) {
            const values = st.buckets!.map((b) => b.get(bucket) ?? 0);
            out.push({ labels: [...st.labels, { name: '__bucket', value: { type: 'float', value: bucket } }], values, exemplars: [] });
          }
          break;
        }
        case 'quantile_over_time': {
          const sorted = st.buckets!.map((b) => [...b].map(([max, count]): HistogramBucket => ({ max, count })).sort((a, b) => a.max - b.max));
          const total = new Map<number, number>();
          for (const b of st.buckets!) for (const [k, c] of b) total.set(k, (total.get(k) ?? 0) + c);
          const totalSorted = [...total].map(([max, count]) => ({ max, count })).sort((a, b) => a.max - b.max);
          const overall = this.agg.quantiles.map((q) => log2Quantile(q, totalSorted));
          this.agg.quantiles.forEach((q, qi) => {
            const values = sorted.map((b) => (b.length === 0 ? 0 : log2Quantile(q, b)));
            // Each exemplar goes to the quantile whose overall value is closest to it.
            const exemplars = st.exemplars.filter((e) => closest(e.value, overall) === qi);
            out.push({ labels: [...st.labels, { name: 'p', value: { type: 'float', value: q } }], values, exemplars });
          });
          break;
        }
        default:
          out.push({ labels: named(st.labels), values: Array.from(st.values), exemplars: st.exemplars });
      }
    }
    return out;
  }
}

function closest(v: number, xs: readonly number[]): number {
  let best = -1;
  let diff = Infinity;
  xs.forEach((x, i) => {
    const d = Math.abs(v - x);
    if (d < diff) {
      diff = d;
      best = i;
    }
  });
  return best;
}

/** A measured value as Tempo floats it: durations in seconds, numbers as they are, anything else NaN. */
function numericGetter(e: FieldExpr): (s: EvalSpan, t: EvalTrace) => number {
  if (e.kind === 'intrinsic' && e.name === 'duration') return (s) => Number(s.durationNano) / 1e9;
  const g = compileFieldValue(e);
  const isDuration = fieldType(e) === 'duration';
  return (s, t) => {
    const v = g(s, t);
    if (typeof v !== 'number') return NaN;
    return isDuration ? v / 1e9 : v;
  };
}

/** The log2 bucket of a span's value (seconds for durations), or -1 when it has none (Tempo drops those spans). */
function bucketGetter(e: FieldExpr | null): (s: EvalSpan, t: EvalTrace) => number {
  if (e === null) return () => -1;
  if (e.kind === 'intrinsic' && e.name === 'duration') {
    return (s) => {
      const b = log2Bucketize(Number(s.durationNano));
      return b < 0 ? -1 : b / 1e9;
    };
  }
  const g = compileFieldValue(e);
  const isDuration = fieldType(e) === 'duration';
  return (s, t) => {
    const v = g(s, t);
    // Floats have no log2 bucket in Tempo; ints and durations do.
    if (typeof v !== 'number' || !Number.isInteger(v)) return -1;
    const b = log2Bucketize(v);
    return b < 0 ? -1 : isDuration ? b / 1e9 : b;
  };
}

// ---- compare() ----

const COMPARE_SKIPPED = new Set(['traceID', 'parentID', 'spanID', 'nestedSetLeft', 'nestedSetRight', 'nestedSetParent']);

/**
 * compare({selection}, topN, start, end): for every attribute value of the spans, counts per interval
 * inside the selection and outside it (the baseline), the topN values per attribute, and totals.
 */
class Compare {
  private readonly selection: CompiledQuery;
  private readonly topN: number;
  private readonly startNs: bigint;
  private readonly endNs: bigint;
  private readonly values = {
    baseline: new Map<string, Map<string, { v: ResultValue; counts: Float64Array }>>(),
    selection: new Map<string, Map<string, { v: ResultValue; counts: Float64Array }>>(),
  };
  private readonly totals = { baseline: new Map<string, Float64Array>(), selection: new Map<string, Float64Array>() };
  private lastTrace: EvalTrace | null = null;
  private selected = new Set<EvalSpan>();

  constructor(
    agg: MetricsAggregation,
    private readonly mapper: IntervalMapper,
  ) {
    this.selection = compilePipeline({ stages: [agg.compareFilter!] });
    this.topN = agg.compareArgs[0] ?? 10;
    this.startNs = BigInt(agg.compareArgs[1] ?? 0);
    this.endNs = BigInt(agg.compareArgs[2] ?? 0);
  }

  seriesCount(): number {
    return this.totals.baseline.size + this.totals.selection.size;
  }

  observe(s: EvalSpan, t: EvalTrace): void {
    if (this.lastTrace !== t) {
      this.lastTrace = t;
      this.selected = new Set(this.selection(t).flatMap((ss) => ss.spans));
    }
    const i = this.mapper.interval(s.startUnixNano);
    if (i < 0) return;
    let inSel = this.selected.has(s);
    if (inSel && this.startNs > 0n && this.endNs > 0n) inSel = s.startUnixNano > this.startNs && s.startUnixNano <= this.endNs;
    const dest = inSel ? 'selection' : 'baseline';
    for (const [name, v] of attributesOf(s, t)) {
      let byValue = this.values[dest].get(name);
      if (byValue === undefined) this.values[dest].set(name, (byValue = new Map()));
      const k = JSON.stringify(v);
      let e = byValue.get(k);
      if (e === undefined) byValue.set(k, (e = { v, counts: new Float64Array(this.mapper.count) }));
      e.counts[i]! += 1;
      let tot = this.totals[dest].get(name);
      if (tot === undefined) this.totals[dest].set(name, (tot = new Float64Array(this.mapper.count)));
      tot[i]! += 1;
    }
  }

  results(): MetricsSeries[] {
    const out: MetricsSeries[] = [];
    const meta = (t: string): SeriesLabel => ({ name: '__meta_type', value: { type: 'string', value: t } });
    const tooMany = new Set<string>();
    for (const dest of ['baseline', 'selection'] as const) {
      for (const [name, byValue] of this.values[dest]) {
        const ranked = [...byValue.values()].sort((a, b) => sum(b.counts) - sum(a.counts)).slice(0, this.topN);
        for (const e of ranked) out.push({ labels: [meta(dest), { name, value: e.v }], values: Array.from(e.counts), exemplars: [] });
        if (byValue.size > this.topN) tooMany.add(name);
      }
    }
    for (const name of tooMany) {
      out.push({
        labels: [
          { name: '__meta_error', value: { type: 'string', value: '__too_many_values__' } },
          { name, value: NIL },
        ],
        values: new Array<number>(this.mapper.count).fill(0),
        exemplars: [],
      });
    }
    for (const dest of ['baseline', 'selection'] as const) {
      for (const [name, counts] of this.totals[dest])
        out.push({ labels: [meta(`${dest}_total`), { name, value: NIL }], values: Array.from(counts), exemplars: [] });
    }
    return out;
  }
}

function sum(xs: Float64Array): number {
  let n = 0;
  for (const x of xs) n += x;
  return n;
}

/** Every attribute and grouping intrinsic of a span, named as TraceQL writes them. */
function attributesOf(s: EvalSpan, t: EvalTrace): [string, ResultValue][] {
  const out: [string, ResultValue][] = [];
  const intrinsics: [string, StaticValue][] = [
    ['name', { type: 'string', value: s.name }],
    ['status', { type: 'status', value: (['unset', 'ok', 'error'] as const)[s.statusCode] ?? 'unset' }],
    ['kind', { type: 'kind', value: (['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const)[s.kind] ?? 'unspecified' }],
    ['rootName', { type: 'string', value: t.rootName }],
    ['rootServiceName', { type: 'string', value: t.rootServiceName }],
  ];
  if (s.statusMessage !== '') intrinsics.push(['statusMessage', { type: 'string', value: s.statusMessage }]);
  for (const [n, v] of intrinsics) if (!COMPARE_SKIPPED.has(n)) out.push([n, v]);
  for (const scope of ['resource', 'span'] as const) {
    for (const key of attributeKeys(s, scope)) {
      const v = fieldResultValue(s.attr(scope, key), 'attribute');
      if (v !== undefined) out.push([`${scope}.${key}`, v]);
    }
  }
  return out;
}

/** Attribute keys of a span's scope, for spans that can list them (compare() needs every attribute). */
function attributeKeys(s: EvalSpan, scope: 'span' | 'resource'): Iterable<string> {
  return s.attrKeys?.(scope) ?? [];
}

// ---- second stages and arithmetic ----

function applyStages(series: MetricsSeries[], stages: readonly MetricsSecondStage[]): MetricsSeries[] {
  let cur = series;
  for (const st of stages) {
    if (st.kind === 'metricsFilter') {
      const rhs = st.value.type === 'duration' ? st.value.value / 1e9 : st.value.type === 'int' || st.value.type === 'float' ? st.value.value : NaN;
      const keep = numberComparator(st.op);
      cur = cur
        .map((s) => ({ ...s, values: s.values.map((v) => (!Number.isNaN(v) && keep(v, rhs) ? v : NaN)) }))
        .filter((s) => s.values.some((v) => !Number.isNaN(v)));
    } else {
      cur = topBottomK(cur, st.k, st.kind === 'topk');
    }
  }
  return cur;
}

/** Tempo's topk/bottomk: at each interval, the k series with the highest (lowest) values keep that value. */
function topBottomK(series: MetricsSeries[], k: number, top: boolean): MetricsSeries[] {
  const n = series.reduce((m, s) => Math.max(m, s.values.length), 0);
  const kept = new Map<MetricsSeries, number[]>();
  const keyOf = (s: MetricsSeries): string => JSON.stringify(s.labels);
  for (let i = 0; i < n; i++) {
    const ranked = series
      .filter((s) => i < s.values.length && !Number.isNaN(s.values[i]!))
      .sort((a, b) => {
        const d = top ? b.values[i]! - a.values[i]! : a.values[i]! - b.values[i]!;
        if (d !== 0) return d;
        return top ? (keyOf(a) < keyOf(b) ? 1 : -1) : keyOf(a) < keyOf(b) ? -1 : 1;
      })
      .slice(0, k);
    for (const s of ranked) {
      let vals = kept.get(s);
      if (vals === undefined) kept.set(s, (vals = new Array<number>(n).fill(NaN)));
      vals[i] = s.values[i]!;
    }
  }
  return series.filter((s) => kept.has(s)).map((s) => ({ ...s, values: kept.get(s)! }));
}

function arith(op: '+' | '-' | '*' | '/'): (a: number, b: number) => number {
  switch (op) {
    case '+':
      return (a, b) => a + b;
    case '-':
      return (a, b) => a - b;
    case '*':
      return (a, b) => a * b;
    default:
      return (a, b) => a / b;
  }
}

/**
 * Arithmetic between series sets or with numbers. Series are paired by their labels (the placeholder
 * `__name__` aside); a single series on each side pairs whatever its labels.
 */
function combine(op: '+' | '-' | '*' | '/', l: MetricsSeries[] | number, r: MetricsSeries[] | number, n: number): MetricsSeries[] | number {
  const f = arith(op);
  if (typeof l === 'number' && typeof r === 'number') return f(l, r);
  if (typeof l === 'number') return (r as MetricsSeries[]).map((s) => ({ ...s, values: s.values.map((v) => f(l, v)) }));
  if (typeof r === 'number') return l.map((s) => ({ ...s, values: s.values.map((v) => f(v, r)) }));
  const key = (s: MetricsSeries): string => JSON.stringify(s.labels.filter((x) => x.name !== '__name__'));
  if (l.length === 1 && r.length === 1) {
    const a = l[0]!;
    const b = r[0]!;
    return [{ labels: a.labels, values: Array.from({ length: n }, (_, i) => f(a.values[i] ?? NaN, b.values[i] ?? NaN)), exemplars: a.exemplars }];
  }
  const right = new Map(r.map((s) => [key(s), s]));
  const out: MetricsSeries[] = [];
  for (const a of l) {
    const b = right.get(key(a));
    if (b === undefined) continue;
    out.push({ labels: a.labels, values: Array.from({ length: n }, (_, i) => f(a.values[i] ?? NaN, b.values[i] ?? NaN)), exemplars: a.exemplars });
  }
  return out;
}
