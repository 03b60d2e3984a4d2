import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { assertSameTrace, type JsonResourceSpans } from '../../test/support/compare.js';
import { decodeExportRequest } from './decode-request.js';
import { decodeTrace } from './trace-decode.js';
import { encodeTrace } from './trace-encode.js';
import { traceToTempoJsonV1, traceToTempoJsonV2 } from './tempo-json.js';
import { fixtureSpans } from '../../test/support/otel-fixture.js';
import type { Trace } from '../model/trace.js';

function traceOf(spans: ReturnType<typeof fixtureSpans>, id: string): Trace {
  const bytes = ProtobufTraceSerializer.serializeRequest(spans);
  assert.ok(bytes);
  return decodeTrace(encodeTrace(decodeExportRequest(bytes, 't').spans.filter((s) => s.traceId === id)));
}

describe('Tempo trace-by-ID JSON', () => {
  it('v1 and v2 carry every span as the SDK sent it (gogo jsonpb forms)', () => {
    const spans = fixtureSpans();
    for (const id of new Set(spans.map((s) => s.spanContext().traceId))) {
      const t = traceOf(spans, id);
      const expected = spans.filter((s) => s.spanContext().traceId === id);
      const v1 = JSON.parse(JSON.stringify(traceToTempoJsonV1(t))) as { batches: JsonResourceSpans[] };
      assertSameTrace(v1.batches, expected);
      const v2 = JSON.parse(JSON.stringify(traceToTempoJsonV2(t))) as { trace: { resourceSpans: JsonResourceSpans[] } };
      assertSameTrace(v2.trace.resourceSpans, expected);
    }
  });

  it('uses base64 IDs, string int64, enum names and omits defaults', () => {
    const t: Trace = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }], droppedAttributesCount: 0 },
          schemaUrl: '',
          scopeSpans: [
            {
              scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0 },
              schemaUrl: '',
              spans: [
                {
                  traceId: new Uint8Array(16).fill(0xff),
                  spanId: new Uint8Array(8).fill(1),
                  traceState: '',
                  parentSpanId: new Uint8Array(0),
                  flags: 0,
                  name: 'op',
                  kind: 2,
                  startTimeUnixNano: 1700000000123456789n,
                  endTimeUnixNano: 1700000000223456789n,
                  attributes: [
                    { key: 'i', value: { intValue: -3n } },
                    { key: 'd', value: { doubleValue: NaN } },
                    { key: 'b', value: { bytesValue: new Uint8Array([1, 2]) } },
                    { key: 'a', value: { arrayValue: { values: [] } } },
                    { key: 'e', value: {} },
                  ],
                  droppedAttributesCount: 0,
                  events: [],
                  droppedEventsCount: 0,
                  links: [],
                  droppedLinksCount: 0,
                  status: { code: 2, message: 'x' },
                },
              ],
            },
          ],
        },
      ],
    };
    assert.deepEqual(JSON.parse(JSON.stringify(traceToTempoJsonV1(t))), {
      batches: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
          scopeSpans: [
            {
              scope: {},
              spans: [
                {
                  traceId: '/////////////////////w==',
                  spanId: 'AQEBAQEBAQE=',
                  name: 'op',
                  kind: 'SPAN_KIND_SERVER',
                  startTimeUnixNano: '1700000000123456789',
                  endTimeUnixNano: '1700000000223456789',
                  attributes: [
                    { key: 'i', value: { intValue: '-3' } },
                    { key: 'd', value: { doubleValue: 'NaN' } },
                    { key: 'b', value: { bytesValue: 'AQI=' } },
                    { key: 'a', value: { arrayValue: {} } },
                    { key: 'e', value: {} },
                  ],
                  status: { message: 'x', code: 'STATUS_CODE_ERROR' },
                },
              ],
            },
          ],
        },
      ],
    });
    assert.deepEqual(traceToTempoJsonV2({ resourceSpans: [] }), { trace: {} });
    assert.deepEqual(traceToTempoJsonV2({ resourceSpans: [] }, { inspectedBytes: 10, partial: true, message: 'too big' }), {
      trace: {},
      metrics: { inspectedBytes: '10' },
      status: 'PARTIAL',
      message: 'too big',
    });
  });
});
