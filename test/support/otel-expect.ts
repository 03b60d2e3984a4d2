/** Test-only: what decodeTrace must return for SDK ReadableSpans, built independently of the decoder. */
import type { AttributeValue, Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { AnyValue, KeyValue } from '../../src/model/trace.js';
import { hrToNs } from './otel-fixture.js';

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function toAny(v: AttributeValue | undefined | null): AnyValue {
  if (v === undefined || v === null) return {};
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: BigInt(v) } : { doubleValue: v };
  return { arrayValue: { values: (v as readonly (string | number | boolean | null | undefined)[]).map((x) => toAny(x as AttributeValue)) } };
}

export function toKeyValues(a: Attributes): KeyValue[] {
  return Object.entries(a).map(([key, value]) => ({ key, value: toAny(value) }));
}

/** The span fields decodeTrace reports, in the decoded object shape (ids as hex for readability). */
export interface ExpectedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  start: bigint;
  end: bigint;
  attributes: KeyValue[];
  events: { name: string; time: bigint; attributes: KeyValue[] }[];
  links: { traceId: string; spanId: string; attributes: KeyValue[] }[];
  status: { code: number; message: string };
}

export function expectedSpan(s: ReadableSpan): ExpectedSpan {
  return {
    traceId: s.spanContext().traceId,
    spanId: s.spanContext().spanId,
    parentSpanId: s.parentSpanContext?.spanId ?? '',
    name: s.name,
    kind: s.kind + 1,
    start: hrToNs(s.startTime),
    end: hrToNs(s.endTime),
    attributes: toKeyValues(s.attributes),
    events: s.events.map((e) => ({ name: e.name, time: hrToNs(e.time), attributes: toKeyValues(e.attributes ?? {}) })),
    links: s.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId, attributes: toKeyValues(l.attributes ?? {}) })),
    status: { code: s.status.code, message: s.status.message ?? '' },
  };
}
