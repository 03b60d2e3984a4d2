import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { decodeExportRequest } from './decode-request.js';
import { decodeTrace } from './trace-decode.js';
import { encodeTrace, mergeTraces } from './trace-encode.js';
import { fixtureSpans } from '../../test/support/otel-fixture.js';
import { hex } from '../../test/support/otel-expect.js';
import type { Trace } from '../model/trace.js';

function request(): Uint8Array {
  const bytes = ProtobufTraceSerializer.serializeRequest(fixtureSpans());
  assert.ok(bytes);
  return bytes;
}

function spanKeys(t: Trace): string[] {
  return t.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => `${hex(s.spanId)}/${s.kind}`)));
}

describe('encodeTrace', () => {
  it('round trips a whole request through decodeTrace', () => {
    const buf = request();
    const batch = decodeExportRequest(buf, 't');
    const encoded = encodeTrace(batch.spans);
    assert.deepEqual(decodeTrace(encoded), decodeTrace(buf));
    // tempopb.Trace bytes scan like a request
    const again = decodeExportRequest(encoded, 't').spans;
    assert.deepEqual(
      again.map((s) => [s.traceId, s.startNs, s.endNs]),
      batch.spans.map((s) => [s.traceId, s.startNs, s.endNs]),
    );
    assert.deepEqual(
      again.map((s) => [...s.span]),
      batch.spans.map((s) => [...s.span]),
    );
  });

  it('groups equal resource/scope bytes from different objects, first-appearance order', () => {
    const buf = request();
    const a = decodeExportRequest(buf, 't').spans;
    const b = decodeExportRequest(buf.slice(), 't').spans; // distinct objects, equal bytes
    const interleaved = a.flatMap((s, i) => [s, b[i]!]);
    const t = decodeTrace(encodeTrace(interleaved));
    assert.equal(t.resourceSpans.length, 2);
    assert.equal(t.resourceSpans.flatMap((rs) => rs.scopeSpans).length, 4);
    const want = decodeTrace(buf);
    assert.deepEqual(
      t.resourceSpans.map((rs) => rs.resource),
      want.resourceSpans.map((rs) => rs.resource),
    );
    assert.equal(spanKeys(t).length, 2 * a.length);
  });

  it('splits one trace out of a mixed request', () => {
    const batch = decodeExportRequest(request(), 't');
    const id = batch.spans[0]!.traceId;
    const mine = batch.spans.filter((s) => s.traceId === id);
    const t = decodeTrace(encodeTrace(mine));
    const spans = t.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
    assert.equal(spans.length, mine.length);
    for (const s of spans) assert.equal(hex(s.traceId), id);
  });

  it('encodes nothing as an empty trace', () => {
    assert.equal(encodeTrace([]).length, 0);
    assert.deepEqual(decodeTrace(encodeTrace([])), { resourceSpans: [] });
  });
});

describe('mergeTraces', () => {
  it('drops duplicate spans (same span ID and kind), keeping the first', () => {
    const buf = request();
    const batch = decodeExportRequest(buf, 't');
    const half1 = encodeTrace(batch.spans.slice(0, 15));
    const half2 = encodeTrace(batch.spans.slice(9));
    const merged = mergeTraces([half1, half2, half1]);
    const keys = spanKeys(decodeTrace(merged));
    assert.equal(keys.length, batch.spans.length);
    assert.equal(new Set(keys).size, keys.length);
    assert.deepEqual(decodeTrace(merged), decodeTrace(buf));
  });

  it('keeps spans that share a span ID but differ in kind', () => {
    const buf = request();
    const t = decodeTrace(buf);
    const span = t.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    const e = decodeExportRequest(buf, 't').spans[0]!;
    // flip the kind varint (field 6) of a copy of the first span
    const copy = e.span.slice();
    const at = copy.findIndex((b, i) => b === 0x30 && copy[i + 1] === span.kind);
    assert.ok(at >= 0);
    copy[at + 1] = span.kind === 2 ? 3 : 2;
    const merged = mergeTraces([encodeTrace([e]), encodeTrace([{ ...e, span: copy }]), encodeTrace([e])]);
    assert.equal(spanKeys(decodeTrace(merged)).length, 2);
  });
});
