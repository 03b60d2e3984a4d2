/** OTLP/JSON text for a decoded trace (hex IDs, int64 as strings, enums as integers), for benches and tests. */
import type { AnyValue, KeyValue, Trace } from '../../src/model/trace.js';

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

function anyValue(v: AnyValue): object {
  if ('intValue' in v) return { intValue: v.intValue.toString() };
  if ('bytesValue' in v) return { bytesValue: Buffer.from(v.bytesValue).toString('base64') };
  if ('arrayValue' in v) return { arrayValue: { values: v.arrayValue.values.map(anyValue) } };
  if ('kvlistValue' in v) return { kvlistValue: { values: v.kvlistValue.values.map(keyValue) } };
  return v;
}

function keyValue(kv: KeyValue): object {
  return { key: kv.key, value: anyValue(kv.value) };
}

export function traceToOtlpJson(trace: Trace): string {
  return JSON.stringify({
    resourceSpans: trace.resourceSpans.map((rs) => ({
      resource: { attributes: rs.resource.attributes.map(keyValue) },
      scopeSpans: rs.scopeSpans.map((ss) => ({
        scope: { name: ss.scope.name, version: ss.scope.version },
        spans: ss.spans.map((s) => ({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: s.name,
          kind: s.kind,
          startTimeUnixNano: s.startTimeUnixNano.toString(),
          endTimeUnixNano: s.endTimeUnixNano.toString(),
          attributes: s.attributes.map(keyValue),
          events: s.events.map((e) => ({ timeUnixNano: e.timeUnixNano.toString(), name: e.name, attributes: e.attributes.map(keyValue) })),
          status: s.status,
        })),
        schemaUrl: ss.schemaUrl,
      })),
      schemaUrl: rs.schemaUrl,
    })),
  });
}
