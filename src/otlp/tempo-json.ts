/**
 * Tempo's JSON answers for trace by ID. Tempo marshals its protobuf types with gogo jsonpb, so this
 * mirrors that mapping, which differs from OTLP/JSON: IDs and bytes are base64, 64-bit integers are
 * decimal strings, enums are names, fields at their default value (and empty lists) are left out, and
 * fields come in the .proto declaration order.
 */
import type { AnyValue, KeyValue, ResourceSpans, Span, SpanEvent, SpanLink, Trace } from '../model/trace.js';

export type JsonValue = string | number | boolean | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** v1 `GET /api/traces/<id>`: the tempopb.Trace, whose repeated field is named `batches`. */
export interface TempoTraceJsonV1 {
  batches?: JsonObject[];
}

/** v2 `GET /api/v2/traces/<id>`: tempopb.TraceByIDResponse. */
export interface TempoTraceJsonV2 {
  trace: { resourceSpans?: JsonObject[] };
  metrics?: { inspectedBytes?: string };
  status?: 'PARTIAL';
  message?: string;
}

/** Optional parts of the v2 answer beyond the trace. */
export interface TempoTraceJsonV2Extras {
  readonly inspectedBytes?: number;
  /** true when the trace was cut short (e.g. too large); written as status PARTIAL. */
  readonly partial?: boolean;
  readonly message?: string;
}

const SPAN_KINDS = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

function b64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

/** jsonpb writes known enum values by name and unknown ones as numbers. */
function enumValue(names: readonly string[], n: number): string | number {
  return names[n] ?? n;
}

function anyValue(v: AnyValue): JsonObject {
  if ('stringValue' in v) return { stringValue: v.stringValue };
  if ('boolValue' in v) return { boolValue: v.boolValue };
  if ('intValue' in v) return { intValue: v.intValue.toString() };
  if ('doubleValue' in v) {
    const d = v.doubleValue;
    return { doubleValue: Number.isFinite(d) ? d : Number.isNaN(d) ? 'NaN' : d > 0 ? 'Infinity' : '-Infinity' };
  }
  if ('arrayValue' in v) {
    const inner: JsonObject = {};
    if (v.arrayValue.values.length > 0) inner['values'] = v.arrayValue.values.map(anyValue);
    return { arrayValue: inner };
  }
  if ('kvlistValue' in v) {
    const inner: JsonObject = {};
    if (v.kvlistValue.values.length > 0) inner['values'] = v.kvlistValue.values.map(keyValue);
    return { kvlistValue: inner };
  }
  if ('bytesValue' in v) return { bytesValue: b64(v.bytesValue) };
  return {};
}

function keyValue(kv: KeyValue): JsonObject {
  const o: JsonObject = {};
  if (kv.key !== '') o['key'] = kv.key;
  o['value'] = anyValue(kv.value);
  return o;
}

function putAttributes(o: JsonObject, attrs: readonly KeyValue[], dropped: number): void {
  if (attrs.length > 0) o['attributes'] = attrs.map(keyValue);
  if (dropped !== 0) o['droppedAttributesCount'] = dropped;
}

function event(e: SpanEvent): JsonObject {
  const o: JsonObject = {};
  if (e.timeUnixNano !== 0n) o['timeUnixNano'] = e.timeUnixNano.toString();
  if (e.name !== '') o['name'] = e.name;
  putAttributes(o, e.attributes, e.droppedAttributesCount);
  return o;
}

function link(l: SpanLink): JsonObject {
  const o: JsonObject = {};
  if (l.traceId.length > 0) o['traceId'] = b64(l.traceId);
  if (l.spanId.length > 0) o['spanId'] = b64(l.spanId);
  if (l.traceState !== '') o['traceState'] = l.traceState;
  putAttributes(o, l.attributes, l.droppedAttributesCount);
  if (l.flags !== 0) o['flags'] = l.flags;
  return o;
}

function span(s: Span): JsonObject {
  const o: JsonObject = {};
  if (s.traceId.length > 0) o['traceId'] = b64(s.traceId);
  if (s.spanId.length > 0) o['spanId'] = b64(s.spanId);
  if (s.traceState !== '') o['traceState'] = s.traceState;
  if (s.parentSpanId.length > 0) o['parentSpanId'] = b64(s.parentSpanId);
  if (s.flags !== 0) o['flags'] = s.flags;
  if (s.name !== '') o['name'] = s.name;
  if (s.kind !== 0) o['kind'] = enumValue(SPAN_KINDS, s.kind);
  if (s.startTimeUnixNano !== 0n) o['startTimeUnixNano'] = s.startTimeUnixNano.toString();
  if (s.endTimeUnixNano !== 0n) o['endTimeUnixNano'] = s.endTimeUnixNano.toString();
  putAttributes(o, s.attributes, s.droppedAttributesCount);
  if (s.events.length > 0) o['events'] = s.events.map(event);
  if (s.droppedEventsCount !== 0) o['droppedEventsCount'] = s.droppedEventsCount;
  if (s.links.length > 0) o['links'] = s.links.map(link);
  if (s.droppedLinksCount !== 0) o['droppedLinksCount'] = s.droppedLinksCount;
  // Senders always set status, so Tempo prints it even when empty ("status": {}).
  const status: JsonObject = {};
  if (s.status.message !== '') status['message'] = s.status.message;
  if (s.status.code !== 0) status['code'] = enumValue(STATUS_CODES, s.status.code);
  o['status'] = status;
  return o;
}

function resourceSpans(rs: ResourceSpans): JsonObject {
  const resource: JsonObject = {};
  putAttributes(resource, rs.resource.attributes, rs.resource.droppedAttributesCount);
  const o: JsonObject = { resource };
  if (rs.scopeSpans.length > 0) {
    o['scopeSpans'] = rs.scopeSpans.map((ss) => {
      const scope: JsonObject = {};
      if (ss.scope.name !== '') scope['name'] = ss.scope.name;
      if (ss.scope.version !== '') scope['version'] = ss.scope.version;
      putAttributes(scope, ss.scope.attributes, ss.scope.droppedAttributesCount);
      const so: JsonObject = { scope };
      if (ss.spans.length > 0) so['spans'] = ss.spans.map(span);
      if (ss.schemaUrl !== '') so['schemaUrl'] = ss.schemaUrl;
      return so;
    });
  }
  if (rs.schemaUrl !== '') o['schemaUrl'] = rs.schemaUrl;
  return o;
}

/** v1 JSON answer: `{"batches":[ResourceSpans…]}`. */
export function traceToTempoJsonV1(trace: Trace): TempoTraceJsonV1 {
  if (trace.resourceSpans.length === 0) return {};
  return { batches: trace.resourceSpans.map(resourceSpans) };
}

/** v2 JSON answer: `{"trace":{"resourceSpans":[…]}}`, plus metrics/status/message when given. */
export function traceToTempoJsonV2(trace: Trace, extras: TempoTraceJsonV2Extras = {}): TempoTraceJsonV2 {
  const t: { resourceSpans?: JsonObject[] } = {};
  if (trace.resourceSpans.length > 0) t.resourceSpans = trace.resourceSpans.map(resourceSpans);
  const out: TempoTraceJsonV2 = { trace: t };
  if (extras.inspectedBytes !== undefined && extras.inspectedBytes > 0) out.metrics = { inspectedBytes: String(extras.inspectedBytes) };
  if (extras.partial === true) out.status = 'PARTIAL';
  if (extras.message !== undefined && extras.message !== '') out.message = extras.message;
  return out;
}
