import type { AttributeScope, FieldExpr, IntrinsicName, Pipeline, RootExpr, ScalarExpr, SpansetExpr, StaticValue, MetricsExpr } from './ast.js';

export type ConditionOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | '=~' | '!~' | 'exists';

/**
 * One predicate storage may test on a single span. `scope: 'intrinsic'` names an intrinsic
 * by its IntrinsicName (`name`, `status`, `spanID`, `traceID`, …; see intrinsics.ts); `scope: 'none'`
 * is an unscoped attribute (span attribute, else resource attribute). Array attributes satisfy a
 * condition when any element does. Regexes are Go syntax as the user wrote them, matched as Tempo
 * does (whole value, `.` matching newline); portablePattern (regex.ts) spells one for C++ RE2.
 */
export type ConditionTarget = { readonly scope: 'intrinsic'; readonly name: IntrinsicName } | { readonly scope: AttributeScope; readonly name: string };

export type Condition = ConditionTarget & {
  readonly op: ConditionOp;
  /** Absent for `exists`. */
  readonly value?: StaticValue;
};

export interface QueryConditions {
  /**
   * A trace can only produce results if one of its spans satisfies one of these conditions (all of
   * them when allConditions). Empty: no trace can be ruled out.
   */
  readonly conditions: readonly Condition[];
  readonly allConditions: boolean;
  /**
   * When false, the evaluator gives the same answer if storage hands it only the spans that satisfy
   * the conditions (all of them when allConditions). When true it needs every span of a candidate
   * trace (structural operators, aggregates over all spans, filters the conditions cannot describe).
   */
  readonly needAllSpans: boolean;
}

/**
 * A necessary condition for a span to match: `anyOf` (the span satisfies at least one) and, when the
 * expression is a plain conjunction, `all` (it satisfies every one). null: nothing usable.
 */
interface SpanRequirement {
  readonly anyOf: readonly Condition[];
  readonly conjunction: boolean;
}

const FLIP: Record<string, ConditionOp> = { '=': '=', '!=': '!=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

export function extractConditions(root: RootExpr): QueryConditions {
  const st: Walk = { filters: [], needAll: false };
  let req: SpanRequirement | null = null;
  if (root.kind === 'spansetQuery') req = pipelineReq(root.pipeline, st);
  else if (root.kind === 'metricsQuery') req = metricsReq(root.metrics, st);
  else st.needAll = true;

  // Every filter must be describable for storage to drop non-matching spans.
  if (st.filters.some((f) => f === null)) st.needAll = true;
  if (req === null) return { conditions: [], allConditions: false, needAllSpans: true };
  const onlyFilter = st.filters.length === 1 && req.conjunction;
  return { conditions: req.anyOf, allConditions: onlyFilter, needAllSpans: st.needAll };
}

interface Walk {
  filters: (SpanRequirement | null)[];
  needAll: boolean;
}

function metricsReq(m: MetricsExpr, st: Walk): SpanRequirement | null {
  switch (m.kind) {
    case 'metricsPipeline':
      return pipelineReq(m.pipeline, st);
    case 'metricsStaged':
      return metricsReq(m.expr, st);
    case 'metricsMath': {
      // Either side may produce series on its own.
      const l = metricsReq(m.lhs, st);
      const r = metricsReq(m.rhs, st);
      return anyOf(l, r);
    }
    case 'metricsScalar':
      return null;
  }
}

function pipelineReq(p: Pipeline, st: Walk): SpanRequirement | null {
  let req: SpanRequirement | null = null;
  p.stages.forEach((s, i) => {
    switch (s.kind) {
      case 'filter':
      case 'spansetOp':
      case 'pipeline': {
        const r = spansetReq(s, st);
        if (req === null) req = r;
        return;
      }
      case 'scalarFilter':
        // Aggregates over the whole trace (first stage) need every span.
        if (i === 0) st.needAll = true;
        scalarReq(s.lhs, st);
        return;
      case 'groupBy':
      case 'select':
        if (i === 0) st.needAll = true;
        return;
      case 'coalesce':
        return;
    }
  });
  return req;
}

function scalarReq(e: ScalarExpr, st: Walk): void {
  if (e.kind === 'scalarBinary') {
    scalarReq(e.lhs, st);
    scalarReq(e.rhs, st);
  } else if (e.kind === 'aggregate' && e.expr !== null && usesStructure(e.expr)) {
    st.needAll = true;
  }
}

function spansetReq(e: SpansetExpr, st: Walk): SpanRequirement | null {
  switch (e.kind) {
    case 'filter': {
      const r = fieldReq(e.expr);
      st.filters.push(r);
      if (usesStructure(e.expr)) st.needAll = true;
      return r;
    }
    case 'pipeline':
      return pipelineReq(e.pipeline, st);
    case 'spansetOp': {
      const l = spansetReq(e.lhs, st);
      const r = spansetReq(e.rhs, st);
      if (e.op === '&&' || e.op === '||') return anyOf(l, r);
      // Structural operators need the whole trace; their results always include right-side spans.
      st.needAll = true;
      return e.op.startsWith('!') ? r : (r ?? l);
    }
  }
}

function anyOf(l: SpanRequirement | null, r: SpanRequirement | null): SpanRequirement | null {
  if (l === null || r === null) return null;
  return { anyOf: [...l.anyOf, ...r.anyOf], conjunction: false };
}

function usesStructure(e: FieldExpr): boolean {
  switch (e.kind) {
    case 'intrinsic':
      return e.name === 'childCount';
    case 'unary':
      return usesStructure(e.expr);
    case 'binary':
      return usesStructure(e.lhs) || usesStructure(e.rhs);
    default:
      return false;
  }
}

function fieldReq(e: FieldExpr): SpanRequirement | null {
  switch (e.kind) {
    case 'binary':
      break;
    case 'attribute':
      // `{ .flag }` needs the attribute to be true.
      if (e.parent) return null;
      return { anyOf: [{ scope: e.scope, name: e.name, op: '=', value: { type: 'bool', value: true } }], conjunction: true };
    default:
      return null;
  }
  if (e.op === '&&') {
    const l = fieldReq(e.lhs);
    const r = fieldReq(e.rhs);
    if (l !== null && r !== null && l.conjunction && r.conjunction) return { anyOf: [...l.anyOf, ...r.anyOf], conjunction: true };
    // Either side alone is necessary; prefer a conjunction, it describes the span more tightly.
    if (l !== null && (r === null || l.conjunction)) return l;
    return r;
  }
  if (e.op === '||') {
    const l = fieldReq(e.lhs);
    const r = fieldReq(e.rhs);
    if (l === null || r === null) return null;
    // (a && b) || c: a span satisfying the left side satisfies a, so {a, c} is still necessary.
    const necessary = (x: SpanRequirement): readonly Condition[] => (x.conjunction ? x.anyOf.slice(0, 1) : x.anyOf);
    return { anyOf: [...necessary(l), ...necessary(r)], conjunction: false };
  }
  const c = comparison(e.op, e.lhs, e.rhs) ?? flipped(e.op, e.lhs, e.rhs);
  return c === null ? null : { anyOf: [c], conjunction: true };
}

function flipped(op: string, lhs: FieldExpr, rhs: FieldExpr): Condition | null {
  const f = FLIP[op];
  return f === undefined ? null : comparison(f, rhs, lhs);
}

function comparison(op: string, lhs: FieldExpr, rhs: FieldExpr): Condition | null {
  if (rhs.kind !== 'static') return null;
  let target: ConditionTarget;
  if (lhs.kind === 'attribute' && !lhs.parent) target = { scope: lhs.scope, name: lhs.name };
  else if (lhs.kind === 'intrinsic' && lhs.name !== 'parent') target = { scope: 'intrinsic', name: lhs.name };
  else return null;
  if (rhs.value.type === 'nil') {
    // `= nil` matches spans without the attribute: nothing storage can look for.
    return op === '!=' ? { ...target, op: 'exists' } : null;
  }
  return { ...target, op: op as ConditionOp, value: rhs.value };
}
