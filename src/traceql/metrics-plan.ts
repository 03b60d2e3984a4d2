import type { FieldExpr, IntrinsicName, MetricsFn, RootExpr, StaticValue } from './ast.js';
import type { Condition } from './conditions.js';

/**
 * A metrics query simple enough for storage to aggregate by itself (a columnar block answers it as
 * one GROUP BY instead of handing over traces): one pipeline whose only filter is a conjunction of
 * span-level comparisons, grouped by attributes or intrinsics, measuring nothing or the duration.
 * Storage must apply the conditions exactly (not as a pre-filter) or decline the plan.
 */
export interface ColumnarPlan {
  /** Every one must hold for a span to count. */
  readonly conditions: readonly Condition[];
  /** by() fields, each an attribute (scoped) or an intrinsic. */
  readonly by: readonly ColumnarField[];
  readonly fn: Exclude<MetricsFn, 'compare'>;
  /** The measured field: only `duration` takes this path. */
  readonly measure: 'duration' | null;
}

export type ColumnarField =
  | { readonly kind: 'attribute'; readonly scope: 'span' | 'resource'; readonly name: string }
  | { readonly kind: 'intrinsic'; readonly name: IntrinsicName };

const SPAN_INTRINSICS = new Set<IntrinsicName>(['name', 'status', 'kind', 'duration', 'statusMessage']);
const OPS = new Set(['=', '!=', '<', '<=', '>', '>=']);

function field(e: FieldExpr): ColumnarField | null {
  if (e.kind === 'attribute' && !e.parent && (e.scope === 'span' || e.scope === 'resource')) return { kind: 'attribute', scope: e.scope, name: e.name };
  if (e.kind === 'intrinsic' && SPAN_INTRINSICS.has(e.name)) return { kind: 'intrinsic', name: e.name };
  return null;
}

function literal(e: FieldExpr): StaticValue | null {
  if (e.kind !== 'static') return null;
  const t = e.value.type;
  return t === 'string' || t === 'int' || t === 'float' || t === 'duration' || t === 'status' || t === 'kind' ? e.value : null;
}

/** The conjunction's comparisons, or null when the expression is anything else. */
function conjunction(e: FieldExpr, out: Condition[]): boolean {
  if (e.kind === 'static' && e.value.type === 'bool' && e.value.value) return true;
  if (e.kind !== 'binary') return false;
  if (e.op === '&&') return conjunction(e.lhs, out) && conjunction(e.rhs, out);
  if (!OPS.has(e.op)) return false;
  const f = field(e.lhs);
  const v = literal(e.rhs);
  if (f === null || v === null) return false;
  const op = e.op as Condition['op'];
  out.push(f.kind === 'attribute' ? { scope: f.scope, name: f.name, op, value: v } : { scope: 'intrinsic', name: f.name, op, value: v });
  return true;
}

/** The query as a columnar plan, or null when it needs the evaluator (structure, arithmetic, compare(), …). */
export function columnarPlan(root: RootExpr): ColumnarPlan | null {
  if (root.kind !== 'metricsQuery') return null;
  const m = root.metrics;
  if (m.kind !== 'metricsPipeline') return null;
  const agg = m.aggregation;
  if (agg.fn === 'compare') return null;
  const conditions: Condition[] = [];
  for (const st of m.pipeline.stages) {
    if (st.kind !== 'filter' || !conjunction(st.expr, conditions)) return null;
  }
  const by: ColumnarField[] = [];
  for (const b of agg.by) {
    const f = field(b);
    if (f === null || (f.kind === 'intrinsic' && f.name === 'duration')) return null;
    by.push(f);
  }
  let measure: 'duration' | null = null;
  if (agg.attr !== null) {
    if (agg.attr.kind !== 'intrinsic' || agg.attr.name !== 'duration') return null;
    measure = 'duration';
  }
  return { conditions, by, fn: agg.fn, measure };
}

/** One group a columnar block found: spans of one series (by values) in one interval (and log2 bucket). */
export interface ColumnarGroup {
  /** by() values as TraceQL sees them (status and kind by name); undefined when absent. */
  readonly values: readonly (string | number | boolean | undefined)[];
  readonly interval: number;
  /** log2 bucket exponent of the duration (quantiles, histograms); 0 otherwise. */
  readonly bucketExp: number;
  /** Spans in the group; 0 for a row that only offers a span for exemplars. */
  readonly count: number;
  /** Duration in ns: sum, min, max over the group (0 without a measure). */
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  /** One span of the group, for exemplars ('' when the group carries none). */
  readonly traceId: string;
  readonly spanId: string;
  readonly startNs: bigint;
  readonly durationNs: number;
}
