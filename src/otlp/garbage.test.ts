import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { OtlpDecodeError } from './errors.js';
import { decodeExportRequest } from './decode-request.js';
import { decodeTrace } from './trace-decode.js';
import { mergeTraces } from './trace-encode.js';
import { otlpJsonToProto } from './json-request.js';
import { fixtureSpans } from '../../test/support/otel-fixture.js';
import { WireWriter } from './wire.js';

/** Small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs fn; it may succeed or throw OtlpDecodeError, never anything else. */
function onlyDecodeErrors(fn: () => unknown, what: string): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (!(e instanceof OtlpDecodeError)) assert.fail(`${what}: threw ${String(e)}`);
    return false;
  }
}

const decoders: [string, (b: Uint8Array) => unknown][] = [
  ['decodeExportRequest', (b) => decodeExportRequest(b, 't')],
  ['decodeTrace', (b) => decodeTrace(b)],
  ['mergeTraces', (b) => mergeTraces([b])],
];

function spanRequest(writeSpan: (w: WireWriter) => void): Uint8Array {
  const w = new WireWriter();
  const rs = w.beginMessage(1);
  const ss = w.beginMessage(2);
  const sp = w.beginMessage(2);
  writeSpan(w);
  w.endMessage(sp);
  w.endMessage(ss);
  w.endMessage(rs);
  return w.finish();
}

function expectDecodeError(b: Uint8Array, re: RegExp): void {
  assert.throws(
    () => decodeExportRequest(b, 't'),
    (e: unknown) => e instanceof OtlpDecodeError && re.test(e.message),
  );
}

describe('malformed input', () => {
  it('random bytes only ever raise OtlpDecodeError', () => {
    const rnd = prng(42);
    for (let i = 0; i < 3000; i++) {
      const b = new Uint8Array(Math.floor(rnd() * 200));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(rnd() * 256);
      for (const [name, fn] of decoders) onlyDecodeErrors(() => fn(b), `${name} random #${i}`);
    }
  });

  it('every truncation and many bit flips of a real request only raise OtlpDecodeError', () => {
    const full = ProtobufTraceSerializer.serializeRequest(fixtureSpans());
    assert.ok(full);
    let rejected = 0;
    for (let n = 0; n < full.length; n++) {
      for (const [name, fn] of decoders) if (!onlyDecodeErrors(() => fn(full.subarray(0, n)), `${name} truncated at ${n}`)) rejected++;
    }
    assert.ok(rejected > full.length, 'most truncations must be rejected');
    const rnd = prng(7);
    for (let i = 0; i < 1500; i++) {
      const b = full.slice();
      b[Math.floor(rnd() * b.length)]! ^= 1 << Math.floor(rnd() * 8);
      for (const [name, fn] of decoders) onlyDecodeErrors(() => fn(b), `${name} flip #${i}`);
    }
  });

  it('rejects bad trace IDs and wrong wire types, naming the problem', () => {
    expectDecodeError(
      spanRequest((w) => w.bytesField(1, new Uint8Array(8).fill(1))),
      /trace_id is 8 bytes, must be 16/,
    );
    expectDecodeError(
      spanRequest((w) => w.bytesField(1, new Uint8Array(16))),
      /trace_id is all zeros/,
    );
    expectDecodeError(
      spanRequest((w) => w.stringField(5, 'no id')),
      /trace_id is missing/,
    );
    expectDecodeError(
      spanRequest((w) => {
        w.bytesField(1, new Uint8Array(16).fill(1));
        w.bytesField(2, new Uint8Array(3));
      }),
      /span_id is 3 bytes/,
    );
    expectDecodeError(
      spanRequest((w) => {
        w.tag(1, 0);
        w.varint(5);
      }),
      /field 1: wire type varint where length-delimited is expected/,
    );
    expectDecodeError(
      spanRequest((w) => {
        w.bytesField(1, new Uint8Array(16).fill(1));
        w.tag(7, 0);
        w.varint(5);
      }),
      /field 7: wire type varint where fixed64/,
    );
    expectDecodeError(new Uint8Array([0x08, 0x01]), /field 1: wire type varint/);
  });

  it('rejects over-deep AnyValue nesting without overflowing the stack', () => {
    const req = spanRequest((w) => {
      w.bytesField(1, new Uint8Array(16).fill(1));
      const kv = w.beginMessage(9);
      const marks: number[] = [w.beginMessage(2)];
      for (let i = 0; i < 5000; i++) {
        marks.push(w.beginMessage(5)); // arrayValue
        marks.push(w.beginMessage(1)); // values[0]
      }
      while (marks.length > 0) w.endMessage(marks.pop()!);
      w.endMessage(kv);
    });
    expectDecodeError(req, /nested deeper/);
    assert.throws(() => decodeTrace(req), OtlpDecodeError);
  });

  it('invalid JSON only raises OtlpDecodeError', () => {
    const bodies = [
      '',
      '{',
      'null',
      '[]',
      '"x"',
      '{"resourceSpans":5}',
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}',
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"abc"}]}]}]}',
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_NOPE"}]}]}]}',
    ];
    for (const b of bodies) {
      assert.throws(() => otlpJsonToProto(b), OtlpDecodeError, b);
    }
    const rnd = prng(3);
    const valid = new TextDecoder().decode(JsonTraceSerializer.serializeRequest(fixtureSpans()));
    for (let i = 0; i < 300; i++) {
      const chars = valid.split('');
      chars[Math.floor(rnd() * chars.length)] = String.fromCharCode(32 + Math.floor(rnd() * 90));
      onlyDecodeErrors(() => otlpJsonToProto(chars.join('')), `json flip #${i}`);
    }
  });
});
