// Public surface of the TraceQL engine; storage and API code import from here.
export type * from './ast.js';
export { parse } from './parser.js';
export { validate } from './validate.js';
export { compile, compilePipeline, evaluate, buildEvalTrace } from './eval.js';
export type { CompiledQuery, NamedValue, ResultValue, Spanset } from './eval.js';
export type { AttrScalar, AttrValue, EvalEvent, EvalLink, EvalSpan, EvalTrace, SpanAttributeScope } from './span-model.js';
export { extractConditions } from './conditions.js';
export { INTRINSICS, LISTED_INTRINSIC_TAGS, intrinsicByTagName, intrinsicTagName } from './intrinsics.js';
export type { IntrinsicDef } from './intrinsics.js';
export type { Condition, ConditionOp, ConditionTarget, QueryConditions } from './conditions.js';
export { TraceQLParseError, TraceQLUnsupportedError, TraceQLValidationError } from './errors.js';
export type { QueryPosition } from './errors.js';
export { formatField, formatStatic } from './format.js';
export { compileMetrics, exemplarsWanted, MetricsEvaluator } from './metrics.js';
export type { MetricsExemplar, MetricsOptions, MetricsResult, MetricsSeries, SeriesLabel } from './metrics.js';
export { alignRange, defaultStepNs, IntervalMapper, log2Bucketize, log2Quantile } from './metrics-range.js';
export type { HistogramBucket, MetricsRange } from './metrics-range.js';
