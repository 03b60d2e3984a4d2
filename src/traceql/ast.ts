/**
 * TraceQL syntax tree. Every node is a plain object tagged by `kind`, so consumers (validation,
 * condition extraction, the compiler) switch exhaustively over it.
 */

export type StatusName = 'unset' | 'ok' | 'error';
export type KindName = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';

/** Literal values. Durations are nanoseconds; ints beyond 2^53 lose precision (JS numbers). */
export type StaticValue =
  | { readonly type: 'nil' }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'duration'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'status'; readonly value: StatusName }
  | { readonly type: 'kind'; readonly value: KindName };

export type StaticType = StaticValue['type'];

/** Attribute scopes; `none` is the unscoped `.name` form (span attribute, else resource attribute). */
export type AttributeScope = 'none' | 'span' | 'resource' | 'event' | 'link' | 'instrumentation';

export type IntrinsicName =
  | 'duration'
  | 'name'
  | 'status'
  | 'statusMessage'
  | 'kind'
  | 'childCount'
  | 'parent'
  | 'spanID'
  | 'parentID'
  | 'traceDuration'
  | 'rootName'
  | 'rootServiceName'
  | 'traceID'
  | 'eventName'
  | 'eventTimeSinceStart'
  | 'linkTraceID'
  | 'linkSpanID'
  | 'instrumentationName'
  | 'instrumentationVersion'
  | 'nestedSetLeft'
  | 'nestedSetRight'
  | 'nestedSetParent';

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^';
export type ComparisonOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | '=~' | '!~';
export type LogicalOp = '&&' | '||';
export type FieldBinaryOp = ArithmeticOp | ComparisonOp | LogicalOp;

export type FieldExpr =
  | { readonly kind: 'static'; readonly value: StaticValue }
  | {
      readonly kind: 'attribute';
      readonly scope: AttributeScope;
      readonly name: string;
      /** `parent.` prefix: parsed, refused by validation as Tempo does. */
      readonly parent: boolean;
    }
  | {
      readonly kind: 'intrinsic';
      readonly name: IntrinsicName;
      /** As written (`duration`, `span:duration`), used to name select()ed values. */
      readonly text: string;
    }
  | { readonly kind: 'binary'; readonly op: FieldBinaryOp; readonly lhs: FieldExpr; readonly rhs: FieldExpr }
  | { readonly kind: 'unary'; readonly op: '-' | '!'; readonly expr: FieldExpr };

export type SpansetOp = '&&' | '||' | '>' | '<' | '>>' | '<<' | '~' | '!>' | '!<' | '!>>' | '!<<' | '!~' | '&>' | '&<' | '&>>' | '&<<' | '&~';

export type SpansetExpr =
  | { readonly kind: 'filter'; readonly expr: FieldExpr }
  | { readonly kind: 'spansetOp'; readonly op: SpansetOp; readonly lhs: SpansetExpr; readonly rhs: SpansetExpr }
  /** A parenthesised pipeline used as an operand of a spanset operator. */
  | { readonly kind: 'pipeline'; readonly pipeline: Pipeline };

export type AggregateFn = 'count' | 'min' | 'max' | 'avg' | 'sum';
export type ScalarFilterOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type ScalarExpr =
  | { readonly kind: 'aggregate'; readonly fn: AggregateFn; readonly expr: FieldExpr | null }
  | { readonly kind: 'scalarStatic'; readonly value: StaticValue }
  | { readonly kind: 'scalarBinary'; readonly op: ArithmeticOp; readonly lhs: ScalarExpr; readonly rhs: ScalarExpr }
  /** `({…} | count())`: a whole pipeline reduced to a number (root-level scalar filters only). */
  | { readonly kind: 'scalarPipeline'; readonly pipeline: Pipeline; readonly aggregate: ScalarExpr };

export interface ScalarFilter {
  readonly kind: 'scalarFilter';
  readonly op: ScalarFilterOp;
  readonly lhs: ScalarExpr;
  readonly rhs: ScalarExpr;
}

export type PipelineStage =
  | SpansetExpr
  | ScalarFilter
  | { readonly kind: 'groupBy'; readonly expr: FieldExpr }
  | { readonly kind: 'coalesce' }
  | { readonly kind: 'select'; readonly exprs: readonly FieldExpr[] };

export interface Pipeline {
  readonly stages: readonly PipelineStage[];
}

export type MetricsFn =
  | 'rate'
  | 'count_over_time'
  | 'min_over_time'
  | 'max_over_time'
  | 'avg_over_time'
  | 'sum_over_time'
  | 'quantile_over_time'
  | 'histogram_over_time'
  | 'compare';

export interface MetricsAggregation {
  readonly kind: 'metricsAggregation';
  readonly fn: MetricsFn;
  /** The measured attribute or intrinsic (min/max/avg/sum/quantile/histogram_over_time). */
  readonly attr: FieldExpr | null;
  /** quantile_over_time's quantiles. */
  readonly quantiles: readonly number[];
  /** compare()'s selection filter and optional integer parameters. */
  readonly compareFilter: SpansetExpr | null;
  readonly compareArgs: readonly number[];
  readonly by: readonly FieldExpr[];
}

export type MetricsSecondStage =
  | { readonly kind: 'topk' | 'bottomk'; readonly k: number }
  | { readonly kind: 'metricsFilter'; readonly op: ScalarFilterOp; readonly value: StaticValue };

export type MetricsExpr =
  | {
      readonly kind: 'metricsPipeline';
      readonly pipeline: Pipeline;
      readonly aggregation: MetricsAggregation;
      readonly stages: readonly MetricsSecondStage[];
    }
  | { readonly kind: 'metricsScalar'; readonly value: number }
  | {
      readonly kind: 'metricsMath';
      readonly op: '+' | '-' | '*' | '/';
      readonly lhs: MetricsExpr;
      readonly rhs: MetricsExpr;
    }
  /** Second stages (filters, topk/bottomk) applied to the result of a math expression. */
  | { readonly kind: 'metricsStaged'; readonly expr: MetricsExpr; readonly stages: readonly MetricsSecondStage[] };

export interface Hint {
  readonly name: string;
  readonly value: StaticValue;
}

export type RootExpr =
  | { readonly kind: 'spansetQuery'; readonly pipeline: Pipeline; readonly hints: readonly Hint[] }
  /** `({…} | count()) > …` at the root: parsed, refused by validation as in Tempo. */
  | { readonly kind: 'scalarPipelineQuery'; readonly filter: ScalarFilter; readonly hints: readonly Hint[] }
  | { readonly kind: 'metricsQuery'; readonly metrics: MetricsExpr; readonly hints: readonly Hint[] };
