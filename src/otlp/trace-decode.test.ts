import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { Span } from '../model/trace.js';
import { decodeTrace } from './trace-decode.js';
import { fixtureSpans } from '../../test/support/otel-fixture.js';
import { expectedSpan, hex, toKeyValues } from '../../test/support/otel-expect.js';
import type { ExpectedSpan } from '../../test/support/otel-expect.js';
import { WireWriter } from './wire.js';

function asExpected(s: Span): ExpectedSpan {
  return {
    traceId: hex(s.traceId),
    spanId: hex(s.spanId),
    parentSpanId: hex(s.parentSpanId),
    name: s.name,
    kind: s.kind,
    start: s.startTimeUnixNano,
    end: s.endTimeUnixNano,
    attributes: s.attributes,
    events: s.events.map((e) => ({ name: e.name, time: e.timeUnixNano, attributes: e.attributes })),
    links: s.links.map((l) => ({ traceId: hex(l.traceId), spanId: hex(l.spanId), attributes: l.attributes })),
    status: s.status,
  };
}

describe('decodeTrace', () => {
  it('returns every span, attribute, event, link and status exactly', () => {
    const spans = fixtureSpans();
    const bytes = ProtobufTraceSerializer.serializeRequest(spans);
    assert.ok(bytes);
    const t = decodeTrace(bytes);
    const got = t.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map(asExpected)));
    const want = spans.map(expectedSpan);
    const bySpan = (a: ExpectedSpan, b: ExpectedSpan): number => (a.spanId < b.spanId ? -1 : 1);
    assert.deepEqual(got.sort(bySpan), want.sort(bySpan));
  });

  it('returns resources and scopes', () => {
    const spans = fixtureSpans();
    const bytes = ProtobufTraceSerializer.serializeRequest(spans);
    assert.ok(bytes);
    const t = decodeTrace(bytes);
    assert.equal(t.resourceSpans.length, 2);
    const first = spans[0]!;
    assert.deepEqual(t.resourceSpans[0]!.resource.attributes, toKeyValues(first.resource.attributes));
    const scopes = t.resourceSpans.flatMap((rs) => rs.scopeSpans.map((ss) => `${ss.scope.name}@${ss.scope.version}`));
    assert.deepEqual(scopes.sort(), ['db-lib@', 'db-lib@', 'http-lib@1.2.3', 'http-lib@1.2.3']);
  });

  it('decodes nested AnyValues, bytes, negative ints, doubles, flags and unknown fields', () => {
    const w = new WireWriter(16);
    const rs = w.beginMessage(1);
    const ss = w.beginMessage(2);
    const sp = w.beginMessage(2);
    w.bytesField(1, new Uint8Array(16).fill(7));
    w.bytesField(2, new Uint8Array(8).fill(8));
    w.stringField(5, 'n');
    w.tag(7, 1);
    w.fixed64((1n << 63n) + 5n);
    const kv = w.beginMessage(9);
    w.stringField(1, 'k');
    const av = w.beginMessage(2);
    const kl = w.beginMessage(6);
    const kv2 = w.beginMessage(1);
    w.stringField(1, 'inner');
    const av2 = w.beginMessage(2);
    const arr = w.beginMessage(5);
    let m = w.beginMessage(1);
    w.tag(3, 0);
    w.varint64(-5n);
    w.endMessage(m);
    m = w.beginMessage(1);
    w.tag(4, 1);
    w.double(-0.5);
    w.endMessage(m);
    m = w.beginMessage(1);
    w.bytesField(7, new Uint8Array([0, 255]));
    w.endMessage(m);
    m = w.beginMessage(1); // empty AnyValue
    w.endMessage(m);
    w.endMessage(arr);
    w.endMessage(av2);
    w.endMessage(kv2);
    w.endMessage(kl);
    w.endMessage(av);
    w.endMessage(kv);
    w.tag(99, 0); // unknown field
    w.varint(12345);
    w.tag(16, 5);
    w.fixed32(0x301);
    w.endMessage(sp);
    w.endMessage(ss);
    w.endMessage(rs);
    const t = decodeTrace(w.finish());
    const span = t.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    assert.equal(span.startTimeUnixNano, (1n << 63n) + 5n);
    assert.equal(span.flags, 0x301);
    assert.deepEqual(span.attributes, [
      {
        key: 'k',
        value: {
          kvlistValue: {
            values: [
              { key: 'inner', value: { arrayValue: { values: [{ intValue: -5n }, { doubleValue: -0.5 }, { bytesValue: new Uint8Array([0, 255]) }, {}] } } },
            ],
          },
        },
      },
    ]);
    assert.deepEqual(span.status, { code: 0, message: '' });
    assert.deepEqual(t.resourceSpans[0]!.scopeSpans[0]!.scope, { name: '', version: '', attributes: [], droppedAttributesCount: 0 });
  });
});
