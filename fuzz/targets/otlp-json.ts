/**
 * Fuzz target: OTLP/JSON export requests, as the HTTP receiver gets them (otlpJsonToProto, then
 * decodeExportRequest), then the query path over what was accepted. Expected: OtlpDecodeError from
 * either step (the conversion leaves some checks, such as ID lengths, to the protobuf decoder).
 */
import { decodeExportRequest } from '../../src/otlp/decode-request.js';
import { OtlpDecodeError } from '../../src/otlp/errors.js';
import { otlpJsonToProto } from '../../src/otlp/json-request.js';
import type { FuzzTarget } from '../engine/target.js';
import { checkAcceptedBatch } from './accepted-batch.js';

function run(data: Uint8Array): void {
  const proto = otlpJsonToProto(Buffer.from(data).toString('utf8'));
  checkAcceptedBatch(decodeExportRequest(proto, 'fuzz'));
}

export const target: FuzzTarget = {
  name: 'otlp-json',
  fuzz: run,
  expected: (err) => err instanceof OtlpDecodeError,
  dictionary: [
    '"resourceSpans"',
    '"resource_spans"',
    '"scopeSpans"',
    '"scope_spans"',
    '"spans"',
    '"resource"',
    '"scope"',
    '"attributes"',
    '"key"',
    '"value"',
    '"stringValue"',
    '"intValue"',
    '"doubleValue"',
    '"boolValue"',
    '"bytesValue"',
    '"arrayValue"',
    '"kvlistValue"',
    '"values"',
    '"traceId"',
    '"spanId"',
    '"parentSpanId"',
    '"trace_id"',
    '"name"',
    '"kind"',
    '"startTimeUnixNano"',
    '"endTimeUnixNano"',
    '"events"',
    '"links"',
    '"status"',
    '"code"',
    '"message"',
    '"flags"',
    '"droppedAttributesCount"',
    '"timeUnixNano"',
    '"traceState"',
    '"SPAN_KIND_SERVER"',
    '"STATUS_CODE_ERROR"',
    '"0102030405060708090a0b0c0d0e0f10"',
    '"0102030405060708"',
    '"AQIDBAUGBwg="',
    '{',
    '}',
    '[',
    ']',
    ',',
    ':',
    'null',
    'true',
    'false',
    '""',
    '"\\u0000"',
    '"\\ud800"',
    '-',
    '1e999',
    '"18446744073709551615"',
  ],
  maxLen: 8192,
  coverage: ['/dist/src/'],
};
