// The UI's hand-written protobuf trace decoder (ui/src/model/trace-proto.ts) must give the same model
// as the JSON path it replaced: the same bytes go through the server's own JSON writer and
// buildTraceModel on one side, the protobuf decoder on the other, and every field must agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { otlpJsonToProto } from '../../src/otlp/json-request.js';
import { decodeTrace } from '../../src/otlp/trace-decode.js';
import { traceToTempoJsonV2 } from '../../src/otlp/tempo-json.js';
import { encodeTraceByIdResponse } from '../../src/otlp/tempo-proto.js';
import { buildTraceModel, linkTree, markCriticalPath, type TraceModel } from '../../ui/src/model/trace-model.js';
import { decodeTraceByIdResponse, decodeTraceSpans, ProtoError } from '../../ui/src/model/trace-proto.js';

const TRACE = '0102030405060708090a0b0c0d0e0f10';
const T0 = 1_700_000_000_123_456_789n;
const kv = (key: string, value: unknown): unknown => ({ key, value });

const otlp = {
  resourceSpans: [
    {
      resource: { attributes: [kv('service.name', { stringValue: 'front' }), kv('host.cores', { intValue: '2' })] },
      scopeSpans: [
        {
          scope: { name: 'lib', version: '1.0', attributes: [kv('scope.x', { boolValue: true })] },
          spans: [
            {
              traceId: TRACE,
              spanId: '0000000000000001',
              name: 'GET /ünïcode',
              kind: 2,
              startTimeUnixNano: T0.toString(),
              endTimeUnixNano: (T0 + 100_000_000n).toString(),
              attributes: [
                kv('big', { intValue: '-9007199254740993' }),
                kv('huge', { intValue: '9223372036854775807' }),
                kv('small', { intValue: '42' }),
                kv('ratio', { doubleValue: 0.25 }),
                kv('ok', { boolValue: false }),
                kv('raw', { bytesValue: 'AP8Q' }),
                kv('list', { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '7' }, { arrayValue: { values: [{ boolValue: true }] } }] } }),
                kv('map', { kvlistValue: { values: [kv('k', { doubleValue: 1.5 }), kv('m', { kvlistValue: { values: [kv('z', { stringValue: 'y' })] } })] } }),
                kv('empty', {}),
              ],
              events: [{ timeUnixNano: (T0 + 5_000_001n).toString(), name: 'exception', attributes: [kv('exception.message', { stringValue: 'boom' })] }],
              links: [{ traceId: 'ffeeddccbbaa99887766554433221100', spanId: '0102030405060708', attributes: [kv('retry-of', { stringValue: 'x' })] }],
              status: { code: 2, message: 'failed' },
            },
            {
              traceId: TRACE,
              spanId: '0000000000000002',
              parentSpanId: '0000000000000001',
              name: 'child',
              kind: 3,
              startTimeUnixNano: (T0 + 10_000_000n).toString(),
              endTimeUnixNano: (T0 + 90_000_000n).toString(),
              status: { code: 1 },
            },
          ],
        },
      ],
    },
    {
      resource: { attributes: [kv('service.name', { stringValue: 'back' })] },
      scopeSpans: [
        {
          spans: [
            {
              traceId: TRACE,
              spanId: '0000000000000003',
              parentSpanId: '0000000000000002',
              name: 'db',
              startTimeUnixNano: (T0 + 20_000_000n).toString(),
              endTimeUnixNano: (T0 + 80_000_000n).toString(),
            },
            { traceId: TRACE, spanId: '0000000000000004', parentSpanId: '00000000000000ff', name: 'orphan', startTimeUnixNano: '1', endTimeUnixNano: '2' },
          ],
        },
      ],
    },
  ],
};

function flat(m: TraceModel): unknown {
  return {
    ...m,
    spans: m.spans.map((s) => ({
      index: s.index,
      spanId: s.spanId,
      parentSpanId: s.parentSpanId,
      name: s.name,
      kind: s.kind,
      service: s.service,
      startMs: s.startMs,
      endMs: s.endMs,
      durationMs: s.durationMs,
      statusCode: s.statusCode,
      statusMessage: s.statusMessage,
      attributes: s.attributes,
      resource: s.resource,
      scopeName: s.scopeName,
      scopeVersion: s.scopeVersion,
      scopeAttributes: s.scopeAttributes,
      events: s.events,
      links: s.links,
      parent: s.parent,
      depth: s.depth,
      children: s.children,
      critical: s.critical,
    })),
  };
}

test('protobuf and JSON answers give the same trace model, field by field', () => {
  const bytes = otlpJsonToProto(JSON.stringify(otlp));
  const fromJson = buildTraceModel(TRACE, JSON.parse(JSON.stringify(traceToTempoJsonV2(decodeTrace(bytes)))));
  const decoded = decodeTraceByIdResponse(encodeTraceByIdResponse(bytes, { inspectedBytes: 10, partial: true, message: 'm' }));
  assert.ok(decoded.parentOf !== undefined, '8-byte IDs take the hash path');
  const fromProto = linkTree(TRACE, decoded.spans, decoded.parentOf);
  markCriticalPath(fromProto);
  assert.deepEqual(flat(fromProto), flat(fromJson));
  // Without the parent index (IDs not all 8 bytes) the tree is linked by hex ID, with the same result.
  const byHex = linkTree(TRACE, decodeTraceSpans(bytes));
  markCriticalPath(byHex);
  assert.deepEqual(flat(byHex), flat(fromJson));
  const first = fromProto.spans[0];
  assert.equal(first?.name, 'GET /ünïcode');
  assert.deepEqual(first?.attributes.slice(0, 3), [
    { key: 'big', value: '-9007199254740993' },
    { key: 'huge', value: '9223372036854775807' },
    { key: 'small', value: '42' },
  ]);
  assert.equal(first?.events[0]?.timeMs, 1_700_000_000_128.4568);
  assert.equal(first?.links[0]?.traceId, 'ffeeddccbbaa99887766554433221100');
});

test('a damaged answer throws a ProtoError instead of looping or reading past the end', () => {
  const bytes = otlpJsonToProto(JSON.stringify(otlp));
  for (const cut of [1, 7, 40, bytes.length - 3]) {
    assert.throws(() => {
      for (const s of decodeTraceSpans(bytes.subarray(0, cut))) void [s.attributes, s.events, s.links];
    }, ProtoError);
  }
  assert.deepEqual(decodeTraceSpans(new Uint8Array(0)), []);
});
