/**
 * Decoded (object) form of OTLP traces, used off the hot path: API answers, block columns, TraceQL
 * evaluation. Field names follow OTLP's protobuf names in camelCase.
 */

export type AnyValue =
  | { readonly stringValue: string }
  | { readonly boolValue: boolean }
  | { readonly intValue: bigint }
  | { readonly doubleValue: number }
  | { readonly arrayValue: { readonly values: AnyValue[] } }
  | { readonly kvlistValue: { readonly values: KeyValue[] } }
  | { readonly bytesValue: Uint8Array }
  | Record<string, never>; // empty: value not set

export interface KeyValue {
  readonly key: string;
  readonly value: AnyValue;
}

export interface SpanEvent {
  readonly timeUnixNano: bigint;
  readonly name: string;
  readonly attributes: KeyValue[];
  readonly droppedAttributesCount: number;
}

export interface SpanLink {
  readonly traceId: Uint8Array;
  readonly spanId: Uint8Array;
  readonly traceState: string;
  readonly attributes: KeyValue[];
  readonly droppedAttributesCount: number;
  readonly flags: number;
}

export interface SpanStatus {
  readonly message: string;
  /** 0 unset, 1 ok, 2 error */
  readonly code: number;
}

export interface Span {
  readonly traceId: Uint8Array;
  readonly spanId: Uint8Array;
  readonly traceState: string;
  readonly parentSpanId: Uint8Array;
  readonly flags: number;
  readonly name: string;
  /** 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer */
  readonly kind: number;
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly attributes: KeyValue[];
  readonly droppedAttributesCount: number;
  readonly events: SpanEvent[];
  readonly droppedEventsCount: number;
  readonly links: SpanLink[];
  readonly droppedLinksCount: number;
  readonly status: SpanStatus;
}

export interface InstrumentationScope {
  readonly name: string;
  readonly version: string;
  readonly attributes: KeyValue[];
  readonly droppedAttributesCount: number;
}

export interface ScopeSpans {
  readonly scope: InstrumentationScope;
  readonly spans: Span[];
  readonly schemaUrl: string;
}

export interface Resource {
  readonly attributes: KeyValue[];
  readonly droppedAttributesCount: number;
}

export interface ResourceSpans {
  readonly resource: Resource;
  readonly scopeSpans: ScopeSpans[];
  readonly schemaUrl: string;
}

/** tempopb.Trace / OTLP TracesData: the same wire shape (repeated ResourceSpans = 1). */
export interface Trace {
  readonly resourceSpans: ResourceSpans[];
}
