// A small hand-built trace for evaluator tests:
//   A "GET /"      frontend server  100ms  (root)
//   ├─ B "db query"  frontend client 30ms error, event "exception"
//   │   └─ D "sql exec" db internal 10ms ok
//   └─ C "cache get" frontend client 5ms, link, span attr env=override
import type { KeyValue, Span, Trace, AnyValue } from '../../src/model/trace.js';

export const TRACE_ID = '0102030405060708090a0b0c0d0e0f10';
export const LINKED_TRACE_ID = 'ffeeddccbbaa99887766554433221100';
export const IDS = { A: '00000000000000a1', B: '00000000000000b1', C: '00000000000000c1', D: '00000000000000d1' };

const ms = 1_000_000n;
const T0 = 1_700_000_000_000_000_000n;

function bytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}
function v(x: string | number | boolean | (string | number)[]): AnyValue {
  if (Array.isArray(x)) return { arrayValue: { values: x.map((e) => v(e)) } };
  if (typeof x === 'string') return { stringValue: x };
  if (typeof x === 'boolean') return { boolValue: x };
  return Number.isInteger(x) ? { intValue: BigInt(x) } : { doubleValue: x };
}
function attrs(o: Record<string, string | number | boolean | (string | number)[]>): KeyValue[] {
  return Object.entries(o).map(([key, x]) => ({ key, value: v(x) }));
}

function span(p: {
  id: string;
  parent: string;
  name: string;
  kind: number;
  status: number;
  message?: string;
  start: bigint;
  dur: bigint;
  attributes?: KeyValue[];
  events?: Span['events'];
  links?: Span['links'];
}): Span {
  return {
    traceId: bytes(TRACE_ID),
    spanId: bytes(p.id),
    traceState: '',
    parentSpanId: p.parent === '' ? new Uint8Array(0) : bytes(p.parent),
    flags: 0,
    name: p.name,
    kind: p.kind,
    startTimeUnixNano: T0 + p.start,
    endTimeUnixNano: T0 + p.start + p.dur,
    attributes: p.attributes ?? [],
    droppedAttributesCount: 0,
    events: p.events ?? [],
    droppedEventsCount: 0,
    links: p.links ?? [],
    droppedLinksCount: 0,
    status: { code: p.status, message: p.message ?? '' },
  };
}

export function sampleTrace(): Trace {
  return {
    resourceSpans: [
      {
        resource: { attributes: attrs({ 'service.name': 'frontend', env: 'prod' }), droppedAttributesCount: 0 },
        schemaUrl: '',
        scopeSpans: [
          {
            scope: { name: 'lib-http', version: '1.0', attributes: attrs({ 'lib.flavor': 'vanilla' }), droppedAttributesCount: 0 },
            schemaUrl: '',
            spans: [
              span({
                id: IDS.A,
                parent: '',
                name: 'GET /',
                kind: 2,
                status: 0,
                start: 0n,
                dur: 100n * ms,
                attributes: attrs({ 'http.method': 'GET', 'http.status_code': 200, tags: ['a', 'b'], 'foo bar': 'spaced', sampled: true }),
              }),
              span({
                id: IDS.B,
                parent: IDS.A,
                name: 'db query',
                kind: 3,
                status: 2,
                message: 'boom',
                start: 10n * ms,
                dur: 30n * ms,
                attributes: attrs({ 'db.system': 'postgres', retries: 3, ratio: 0.5 }),
                events: [{ timeUnixNano: T0 + 20n * ms, name: 'exception', attributes: attrs({ 'exception.type': 'Timeout' }), droppedAttributesCount: 0 }],
              }),
              span({
                id: IDS.C,
                parent: IDS.A,
                name: 'cache get',
                kind: 3,
                status: 0,
                start: 50n * ms,
                dur: 5n * ms,
                attributes: attrs({ 'http.status_code': 500, 'user.id': '42', env: 'override', sampled: false }),
                links: [
                  {
                    traceId: bytes(LINKED_TRACE_ID),
                    spanId: bytes('1111111111111111'),
                    traceState: '',
                    attributes: attrs({ kind: 'follows' }),
                    droppedAttributesCount: 0,
                    flags: 0,
                  },
                ],
              }),
            ],
          },
        ],
      },
      {
        resource: { attributes: attrs({ 'service.name': 'db', env: 'staging' }), droppedAttributesCount: 0 },
        schemaUrl: '',
        scopeSpans: [
          {
            scope: { name: 'lib-sql', version: '2.0', attributes: [], droppedAttributesCount: 0 },
            schemaUrl: '',
            spans: [span({ id: IDS.D, parent: IDS.B, name: 'sql exec', kind: 1, status: 1, start: 15n * ms, dur: 10n * ms })],
          },
        ],
      },
    ],
  };
}
