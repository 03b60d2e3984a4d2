/**
 * The read-only view of a trace that the evaluator works on. Storage layers build it from whatever
 * they hold (decoded OTLP via buildEvalTrace, block columns, …); the engine reads nothing else.
 */

/** One attribute value. Ints arrive as JS numbers (precision is lost past 2^53). */
export type AttrScalar = string | number | boolean;
/** Attribute arrays: a comparison matches when any element does. */
export type AttrValue = AttrScalar | readonly AttrScalar[];

export type SpanAttributeScope = 'span' | 'resource' | 'instrumentation';

export interface EvalEvent {
  readonly name: string;
  readonly timeSinceStartNano: bigint;
  attr(key: string): AttrValue | undefined;
}

export interface EvalLink {
  /** Lower-case hex. */
  readonly traceId: string;
  readonly spanId: string;
  attr(key: string): AttrValue | undefined;
}

export interface EvalSpan {
  /** Lower-case hex; parentSpanId is '' for a root span. */
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP SpanKind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  /** OTLP StatusCode: 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly statusMessage: string;
  readonly startUnixNano: bigint;
  readonly durationNano: bigint;
  attr(scope: SpanAttributeScope, key: string): AttrValue | undefined;
  /** Attribute keys of a scope, where the span can list them (compare() groups by every attribute). */
  attrKeys?(scope: 'span' | 'resource'): Iterable<string>;
  readonly events: readonly EvalEvent[];
  readonly links: readonly EvalLink[];
  readonly instrumentationName: string;
  readonly instrumentationVersion: string;
  /** Nested-set numbers as Tempo stores them (left/right of the span, left of its parent; -1 when unknown). */
  readonly nestedLeft: number;
  readonly nestedRight: number;
  readonly nestedParent: number;
}

export interface EvalTrace {
  /** Lower-case hex. */
  readonly traceId: string;
  readonly rootServiceName: string;
  readonly rootName: string;
  readonly startUnixNano: bigint;
  readonly durationNano: bigint;
  readonly spans: readonly EvalSpan[];
}
