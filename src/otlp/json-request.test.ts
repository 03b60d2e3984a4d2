import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { OtlpDecodeError } from './errors.js';
import { decodeExportRequest } from './decode-request.js';
import { decodeTrace } from './trace-decode.js';
import { otlpJsonToProto } from './json-request.js';
import { fixtureSpans } from '../../test/support/otel-fixture.js';

describe('otlpJsonToProto', () => {
  it('JSON -> proto -> decode equals proto -> decode for SDK output', () => {
    const spans = fixtureSpans();
    const json = JsonTraceSerializer.serializeRequest(spans);
    const proto = ProtobufTraceSerializer.serializeRequest(spans);
    assert.ok(json && proto);
    const converted = otlpJsonToProto(new TextDecoder().decode(json));
    assert.deepEqual(decodeTrace(converted), decodeTrace(proto));
    assert.equal(decodeExportRequest(converted, 't').spans.length, spans.length);
  });

  it('accepts snake_case names, enum names, int64 as numbers or strings and special doubles', () => {
    const body = JSON.stringify({
      resource_spans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { string_value: 'svc' } }] },
          scope_spans: [
            {
              scope: { name: 'lib', version: '1' },
              spans: [
                {
                  trace_id: '5B8EFFF798038103D269B633813FC60C',
                  span_id: 'EEE19B7EC3C1B173',
                  parent_span_id: '',
                  name: 'op',
                  kind: 'SPAN_KIND_SERVER',
                  start_time_unix_nano: '1700000000123456789',
                  endTimeUnixNano: 1700000001000000000,
                  attributes: [
                    { key: 'i', value: { intValue: '-9223372036854775808' } },
                    { key: 'n', value: { int_value: 42 } },
                    { key: 'd', value: { doubleValue: 'NaN' } },
                    { key: 'inf', value: { doubleValue: '-Infinity' } },
                    { key: 'b', value: { bytesValue: 'AP8=' } },
                    { key: 'empty', value: {} },
                    { key: 'nested', value: { kvlistValue: { values: [{ key: 'a', value: { arrayValue: { values: [{ boolValue: false }] } } }] } } },
                  ],
                  events: [{ time_unix_nano: '5', name: 'e' }],
                  links: [{ traceId: '0102030405060708090a0b0c0d0e0f10', spanId: '0102030405060708', flags: 256 }],
                  status: { code: 'STATUS_CODE_ERROR', message: 'bad' },
                  unknownField: { ignored: true },
                },
              ],
            },
          ],
        },
      ],
    });
    const t = decodeTrace(otlpJsonToProto(body));
    const rs = t.resourceSpans[0]!;
    assert.deepEqual(rs.resource.attributes, [{ key: 'service.name', value: { stringValue: 'svc' } }]);
    const s = rs.scopeSpans[0]!.spans[0]!;
    assert.equal(Buffer.from(s.traceId).toString('hex'), '5b8efff798038103d269b633813fc60c');
    assert.equal(s.parentSpanId.length, 0);
    assert.equal(s.kind, 2);
    assert.equal(s.startTimeUnixNano, 1700000000123456789n);
    assert.equal(s.endTimeUnixNano, 1700000001000000000n);
    assert.deepEqual(s.attributes, [
      { key: 'i', value: { intValue: -9223372036854775808n } },
      { key: 'n', value: { intValue: 42n } },
      { key: 'd', value: { doubleValue: NaN } },
      { key: 'inf', value: { doubleValue: -Infinity } },
      { key: 'b', value: { bytesValue: new Uint8Array([0, 255]) } },
      { key: 'empty', value: {} },
      { key: 'nested', value: { kvlistValue: { values: [{ key: 'a', value: { arrayValue: { values: [{ boolValue: false }] } } }] } } },
    ]);
    assert.equal(s.events[0]!.timeUnixNano, 5n);
    assert.equal(s.links[0]!.flags, 256);
    assert.deepEqual(s.status, { code: 2, message: 'bad' });
  });

  it('names the offending field', () => {
    const span = (s: object): string => JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [s] }] }] });
    const cases: [string, RegExp][] = [
      [span({ traceId: 'xyz0' }), /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId: expected a hex string/],
      [span({ startTimeUnixNano: -1 }), /startTimeUnixNano: expected an unsigned 64-bit integer/],
      [span({ kind: 'SERVER' }), /kind: expected an integer or one of/],
      [span({ attributes: [{ key: 'k', value: { intValue: 1.5 } }] }), /attributes\[0\]\.value\.intValue/],
      [span({ attributes: {} }), /attributes: expected an array/],
      [span({ name: 5 }), /name: expected a string/],
      ['{"resourceSpans":[1]}', /resourceSpans\[0\]: expected an object/],
      ['not json', /invalid JSON/],
    ];
    for (const [body, re] of cases) {
      assert.throws(
        () => otlpJsonToProto(body),
        (e: unknown) => e instanceof OtlpDecodeError && re.test(e.message),
        body,
      );
    }
  });

  it('accepts an empty request', () => {
    assert.equal(otlpJsonToProto('{}').length, 0);
  });
});
