import type { FieldExpr, MetricsAggregation, MetricsExpr, Pipeline, PipelineStage, RootExpr, ScalarExpr, ScalarFilter, SpansetExpr } from './ast.js';
import { TraceQLUnsupportedError, TraceQLValidationError } from './errors.js';
import { fieldType, isNumericType, referencesSpan, type FieldType } from './field-type.js';
import { formatField } from './format.js';
import { compileRegex } from './regex.js';

/**
 * Checks a parsed query the way Tempo's validate() does: type errors are TraceQLValidationError,
 * well formed but unexecutable queries (parent., complex scalar filters, …) TraceQLUnsupportedError.
 */
export function validate(root: RootExpr): void {
  switch (root.kind) {
    case 'spansetQuery':
      validatePipeline(root.pipeline);
      return;
    case 'scalarPipelineQuery':
      validateScalar(root.filter.lhs);
      validateScalar(root.filter.rhs);
      throw new TraceQLUnsupportedError('comparisons between whole pipelines');
    case 'metricsQuery':
      validateMetrics(root.metrics, false);
      return;
  }
}

function validatePipeline(p: Pipeline): void {
  for (const s of p.stages) validateStage(s);
}

function validateStage(s: PipelineStage): void {
  switch (s.kind) {
    case 'filter':
    case 'spansetOp':
    case 'pipeline':
      validateSpanset(s);
      return;
    case 'scalarFilter':
      validateScalarFilter(s);
      return;
    case 'groupBy':
      rejectParent(s.expr);
      validateField(s.expr);
      if (!referencesSpan(s.expr)) throw new TraceQLValidationError(`by(${formatField(s.expr)}) must reference the span`);
      return;
    case 'coalesce':
      return;
    case 'select':
      for (const e of s.exprs) rejectParent(e);
      return;
  }
}

function validateSpanset(s: SpansetExpr): void {
  switch (s.kind) {
    case 'filter': {
      rejectParent(s.expr);
      validateField(s.expr);
      const t = fieldType(s.expr);
      if (t !== 'bool' && t !== 'attribute') {
        throw new TraceQLValidationError(`spanset filter must evaluate to a boolean: { ${formatField(s.expr)} }`);
      }
      return;
    }
    case 'spansetOp':
      validateSpanset(s.lhs);
      validateSpanset(s.rhs);
      return;
    case 'pipeline':
      validatePipeline(s.pipeline);
      return;
  }
}

function validateScalarFilter(f: ScalarFilter): void {
  validateScalar(f.lhs);
  validateScalar(f.rhs);
  // Tempo evaluates only "aggregate <op> number".
  if (f.lhs.kind !== 'aggregate') throw new TraceQLUnsupportedError('scalar filters must compare one aggregate to a number');
  if (!isConstant(f.rhs)) throw new TraceQLUnsupportedError('scalar filters must compare one aggregate to a number');
}

export function isConstant(e: ScalarExpr): boolean {
  if (e.kind === 'scalarStatic') return true;
  if (e.kind === 'scalarBinary') return isConstant(e.lhs) && isConstant(e.rhs);
  return false;
}

function validateScalar(e: ScalarExpr): void {
  switch (e.kind) {
    case 'scalarStatic':
      return;
    case 'scalarBinary':
      validateScalar(e.lhs);
      validateScalar(e.rhs);
      return;
    case 'scalarPipeline':
      validatePipeline(e.pipeline);
      validateScalar(e.aggregate);
      return;
    case 'aggregate': {
      if (e.expr === null) return;
      rejectParent(e.expr);
      validateField(e.expr);
      const t = fieldType(e.expr);
      if (!isNumericType(t) && t !== 'attribute') {
        throw new TraceQLValidationError(`${e.fn}() needs a numeric expression: ${formatField(e.expr)}`);
      }
      if (!referencesSpan(e.expr)) throw new TraceQLValidationError(`${e.fn}(${formatField(e.expr)}) must reference the span`);
      return;
    }
  }
}

function validateMetrics(m: MetricsExpr, inMath: boolean): void {
  switch (m.kind) {
    case 'metricsScalar':
      return;
    case 'metricsMath':
      validateMetrics(m.lhs, true);
      validateMetrics(m.rhs, true);
      return;
    case 'metricsStaged':
      if (isCompare(m.expr)) throw new TraceQLValidationError('compare() cannot be followed by other functions or filters');
      validateMetrics(m.expr, inMath);
      for (const s of m.stages)
        if ((s.kind === 'topk' || s.kind === 'bottomk') && s.k <= 0) throw new TraceQLValidationError(`${s.kind}() needs a positive limit`);
      return;
    case 'metricsPipeline':
      validatePipeline(m.pipeline);
      validateAggregation(m.aggregation);
      if (m.aggregation.fn === 'compare' && (inMath || m.stages.length > 0)) {
        throw new TraceQLValidationError('compare() cannot be combined with other functions, filters or arithmetic');
      }
      for (const s of m.stages) {
        if ((s.kind === 'topk' || s.kind === 'bottomk') && s.k <= 0) throw new TraceQLValidationError(`${s.kind}() needs a positive limit`);
      }
      return;
  }
}

function isCompare(m: MetricsExpr): boolean {
  return m.kind === 'metricsPipeline' && m.aggregation.fn === 'compare';
}

function validateAggregation(a: MetricsAggregation): void {
  if (a.attr !== null) rejectParent(a.attr);
  for (const b of a.by) rejectParent(b);
  if (a.compareFilter !== null) validateSpanset(a.compareFilter);
  for (const q of a.quantiles) if (q < 0 || q > 1) throw new TraceQLValidationError(`quantile ${q} is not between 0 and 1`);
}

function rejectParent(e: FieldExpr): void {
  switch (e.kind) {
    case 'attribute':
      if (e.parent) throw new TraceQLUnsupportedError('parent. attributes');
      return;
    case 'intrinsic':
      if (e.name === 'parent') throw new TraceQLUnsupportedError('the parent intrinsic');
      return;
    case 'unary':
      rejectParent(e.expr);
      return;
    case 'binary':
      rejectParent(e.lhs);
      rejectParent(e.rhs);
      return;
    case 'static':
      return;
  }
}

function isStringLike(t: FieldType): boolean {
  return t === 'string' || t === 'attribute';
}
function isBoolLike(t: FieldType): boolean {
  return t === 'bool' || t === 'attribute';
}
function isNumericLike(t: FieldType): boolean {
  return isNumericType(t) || t === 'attribute';
}

function validateField(e: FieldExpr): void {
  switch (e.kind) {
    case 'static':
    case 'attribute':
    case 'intrinsic':
      return;
    case 'unary': {
      validateField(e.expr);
      const t = fieldType(e.expr);
      if (e.op === '-' && !isNumericLike(t)) throw new TraceQLValidationError(`cannot negate ${t}: ${formatField(e)}`);
      if (e.op === '!' && !isBoolLike(t)) throw new TraceQLValidationError(`cannot apply ! to ${t}: ${formatField(e)}`);
      return;
    }
    case 'binary':
      break;
  }
  validateField(e.lhs);
  validateField(e.rhs);
  const l = fieldType(e.lhs);
  const r = fieldType(e.rhs);
  const bad = (): never => {
    throw new TraceQLValidationError(`invalid operand types ${l} ${e.op} ${r}: ${formatField(e)}`);
  };
  switch (e.op) {
    case '+':
    case '-':
    case '*':
    case '/':
    case '%':
    case '^':
      if (!isNumericLike(l) || !isNumericLike(r)) bad();
      return;
    case '&&':
    case '||':
      if (!isBoolLike(l) || !isBoolLike(r)) bad();
      return;
    case '=~':
    case '!~':
      if (!isStringLike(l) || !isStringLike(r)) bad();
      if (e.rhs.kind === 'static' && e.rhs.value.type === 'string') {
        // Throws the validation error naming RE2's reason (lookahead, backreference, …).
        compileRegex(e.rhs.value.value);
      }
      return;
    case '=':
    case '!=':
      if (l === 'nil' || r === 'nil') {
        validateNil(l === 'nil' ? e.rhs : e.lhs, e);
        return;
      }
      if (!comparable(l, r)) bad();
      return;
    case '<':
    case '<=':
    case '>':
    case '>=':
      if (!comparable(l, r)) bad();
      if (l === 'status' || l === 'kind' || r === 'status' || r === 'kind' || l === 'bool' || r === 'bool' || l === 'nil' || r === 'nil') bad();
      return;
  }
}

function comparable(l: FieldType, r: FieldType): boolean {
  if (l === 'attribute' || r === 'attribute') return true;
  if (l === r) return true;
  return isNumericType(l) && isNumericType(r);
}

function validateNil(other: FieldExpr, whole: FieldExpr): void {
  const fail = (): never => {
    throw new TraceQLValidationError(`cannot compare ${formatField(other)} to nil: ${formatField(whole)}`);
  };
  switch (other.kind) {
    case 'static':
      if (other.value.type !== 'nil') fail();
      return;
    case 'attribute':
      // Tempo stores resource.service.name in a dedicated, always present column.
      if (other.scope === 'resource' && other.name === 'service.name') fail();
      return;
    case 'intrinsic':
      if (fieldType(other) !== 'string') fail();
      return;
    default:
      fail();
  }
}
