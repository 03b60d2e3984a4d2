/**
 * The internal batch form every receiver produces and the distributor/ingester consume.
 *
 * A batch keeps the OTLP protobuf bytes it arrived with: a span is the encoded
 * `opentelemetry.proto.trace.v1.Span` message, and its resource and scope are the encoded
 * `ResourceSpans` / `ScopeSpans` messages with their repeated children (field 2) left out. Only what
 * routing needs (trace ID, times, sizes) is decoded, so the hot path builds no object per attribute.
 * Re-encoding a trace is then byte concatenation (see `otlp/trace-encode.ts`).
 */

/** One span, still encoded, with the fields routing needs. */
export interface SpanEntry {
  /** 32 lowercase hex characters. */
  readonly traceId: string;
  /** Encoded `Span` message bytes (may be a view into the request buffer). */
  readonly span: Uint8Array;
  /** Encoded `ResourceSpans` without its `scope_spans` field; shared by every span of that resource. */
  readonly resource: Uint8Array;
  /** Encoded `ScopeSpans` without its `spans` field; shared by every span of that scope. */
  readonly scope: Uint8Array;
  /** start_time_unix_nano as a double (ns precision lost beyond 2^53; for time ranges only). */
  readonly startNs: number;
  /** end_time_unix_nano as a double. */
  readonly endNs: number;
}

/** What one push request carries after decoding. */
export interface PushBatch {
  readonly tenant: string;
  readonly spans: SpanEntry[];
  /** The encoded (decompressed) ExportTraceServiceRequest the spans are views into; what the WAL stores. */
  readonly payload: Uint8Array;
  /** Size of the (decompressed) encoded request, bytes. */
  readonly byteSize: number;
}
