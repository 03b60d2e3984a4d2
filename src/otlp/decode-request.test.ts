import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { decodeExportRequest } from './decode-request.js';
import { fixtureSpans, hrToNs } from '../../test/support/otel-fixture.js';
import { WireReader } from './wire.js';

function request(): Uint8Array {
  const bytes = ProtobufTraceSerializer.serializeRequest(fixtureSpans());
  assert.ok(bytes);
  return bytes;
}

describe('decodeExportRequest', () => {
  it('finds every span with its trace ID and times', () => {
    const spans = fixtureSpans();
    const buf = request();
    const batch = decodeExportRequest(buf, 'tenant-a');
    assert.equal(batch.tenant, 'tenant-a');
    assert.equal(batch.byteSize, buf.length);
    assert.equal(batch.payload, buf);
    assert.equal(batch.spans.length, spans.length);
    const got = batch.spans.map((e) => `${e.traceId} ${e.startNs} ${e.endNs}`).sort();
    const want = spans.map((s) => `${s.spanContext().traceId} ${Number(hrToNs(s.startTime))} ${Number(hrToNs(s.endTime))}`).sort();
    assert.deepEqual(got, want);
  });

  it('keeps span bytes as views and splits resource/scope without their children', () => {
    const buf = request();
    const batch = decodeExportRequest(buf, 't');
    for (const e of batch.spans) {
      assert.equal(e.span.buffer, buf.buffer, 'span must be a view of the request');
      // resource keeps field 1 only (no scope_spans = 2); scope keeps field 1 only (no spans = 2)
      for (const part of [e.resource, e.scope]) {
        const r = new WireReader(part);
        while (!r.eof()) {
          const t = r.tag();
          assert.notEqual(t >>> 3, 2);
          r.skip(t & 7);
        }
      }
    }
    // one resource object per ResourceSpans, shared by its spans
    assert.equal(new Set(batch.spans.map((e) => e.resource)).size, 2);
    assert.equal(new Set(batch.spans.map((e) => e.scope)).size, 4);
  });

  it('accepts an empty request', () => {
    assert.deepEqual(decodeExportRequest(new Uint8Array(0), 't').spans, []);
  });
});
