import assert from 'node:assert/strict';
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** Tempo's JSON (gogo jsonpb) forms, as much as the comparison reads. */
interface JsonAnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: JsonAnyValue[] };
}
interface JsonKeyValue {
  key: string;
  value: JsonAnyValue;
}
interface JsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: JsonKeyValue[];
  events?: { name: string; timeUnixNano: string; attributes?: JsonKeyValue[] }[];
  links?: { traceId: string; spanId: string; attributes?: JsonKeyValue[] }[];
  status?: { code?: string; message?: string };
}
export interface JsonResourceSpans {
  resource?: { attributes?: JsonKeyValue[] };
  scopeSpans?: { scope?: { name?: string; version?: string }; spans?: JsonSpan[] }[];
}

function jsValue(v: JsonAnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(jsValue);
  return null;
}

function jsAttrs(kvs: JsonKeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of kvs ?? []) out[kv.key] = jsValue(kv.value);
  return out;
}

function sdkAttrs(a: Attributes): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) out[k] = v as AttributeValue;
  return out;
}

const hexToB64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');
const KINDS = ['SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];
const ns = (t: [number, number]): string => (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();

/**
 * Asserts that Tempo-shaped JSON batches hold exactly the SDK's spans of one trace, span for span:
 * IDs, parent, name, kind, times, typed attributes, events, links, status, resource and scope.
 */
export function assertSameTrace(batches: JsonResourceSpans[], expected: readonly ReadableSpan[]): void {
  const got = new Map<string, { span: JsonSpan; resource: Record<string, unknown>; scope: string | undefined }>();
  for (const rs of batches) {
    const resource = jsAttrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        assert.ok(!got.has(span.spanId), `span ${span.spanId} appears twice`);
        got.set(span.spanId, { span, resource, scope: ss.scope?.name });
      }
    }
  }
  assert.equal(got.size, expected.length, 'span count');
  for (const e of expected) {
    const ctx = e.spanContext();
    const g = got.get(hexToB64(ctx.spanId));
    assert.ok(g, `span ${ctx.spanId} (${e.name}) missing`);
    const { span } = g;
    assert.equal(span.traceId, hexToB64(ctx.traceId));
    assert.equal(span.name, e.name);
    assert.equal(span.kind ?? 'SPAN_KIND_UNSPECIFIED', KINDS[e.kind]);
    const parent = e.parentSpanContext?.spanId;
    assert.equal(span.parentSpanId ?? '', parent ? hexToB64(parent) : '');
    assert.equal(span.startTimeUnixNano, ns(e.startTime));
    assert.equal(span.endTimeUnixNano, ns(e.endTime));
    assert.deepEqual(jsAttrs(span.attributes), sdkAttrs(e.attributes));
    assert.deepEqual(
      (span.events ?? []).map((ev) => ({ name: ev.name, time: ev.timeUnixNano, attrs: jsAttrs(ev.attributes) })),
      e.events.map((ev) => ({ name: ev.name, time: ns(ev.time), attrs: sdkAttrs(ev.attributes ?? {}) })),
    );
    assert.deepEqual(
      (span.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId, attrs: jsAttrs(l.attributes) })),
      e.links.map((l) => ({ traceId: hexToB64(l.context.traceId), spanId: hexToB64(l.context.spanId), attrs: sdkAttrs(l.attributes ?? {}) })),
    );
    assert.equal(span.status?.code ?? 'STATUS_CODE_UNSET', STATUS[e.status.code]);
    assert.equal(span.status?.message ?? '', e.status.message ?? '');
    assert.deepEqual(g.resource, sdkAttrs(e.resource.attributes));
    assert.equal(g.scope, e.instrumentationScope.name);
  }
}
