/**
 * Fuzz target: OTLP/protobuf export requests, as the gRPC and HTTP receivers get them
 * (decodeExportRequest), then the query path over what was accepted; and the full decoder
 * (decodeTrace) on the raw bytes. Expected: OtlpDecodeError.
 */
import { decodeExportRequest } from '../../src/otlp/decode-request.js';
import { OtlpDecodeError } from '../../src/otlp/errors.js';
import { decodeTrace } from '../../src/otlp/trace-decode.js';
import type { FuzzTarget } from '../engine/target.js';
import { checkAcceptedBatch } from './accepted-batch.js';

function run(data: Uint8Array): void {
  try {
    decodeTrace(data);
  } catch (err) {
    if (!(err instanceof OtlpDecodeError)) throw err;
  }
  let batch: ReturnType<typeof decodeExportRequest>;
  try {
    batch = decodeExportRequest(data, 'fuzz');
  } catch (err) {
    if (err instanceof OtlpDecodeError) return;
    throw err;
  }
  checkAcceptedBatch(batch);
}

// Tags of the length-delimited, varint and fixed64 fields of ResourceSpans/ScopeSpans/Span/AnyValue
// ((field << 3) | wire type), as single bytes.
const TAGS = [
  0x08, 0x0a, 0x10, 0x12, 0x18, 0x1a, 0x20, 0x22, 0x28, 0x2a, 0x30, 0x32, 0x35, 0x38, 0x39, 0x3a, 0x40, 0x41, 0x42, 0x48, 0x4a, 0x50, 0x52, 0x58, 0x5a, 0x60,
  0x62, 0x68, 0x6a, 0x70, 0x7a, 0x85,
];

export const target: FuzzTarget = {
  name: 'otlp-proto',
  fuzz: run,
  expected: (err) => err instanceof OtlpDecodeError,
  dictionary: [
    ...TAGS.map((t) => String.fromCharCode(t)),
    '\x0a\x00',
    '\x12\x00',
    '\x0a\x10',
    '\x12\x08',
    '\xff\xff\xff\xff\x0f',
    '\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01',
    'service.name',
  ],
  maxLen: 8192,
  coverage: ['/dist/src/'],
  protobuf: true,
};
