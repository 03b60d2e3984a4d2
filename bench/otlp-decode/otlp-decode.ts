/**
 * Throughput of the OTLP codecs on generated data: the ingest scan (decodeExportRequest), the full
 * object decode (decodeTrace), OTLP/JSON conversion, and the per-trace re-encode / merge the querier uses.
 * Run: node dist/bench/otlp-decode/otlp-decode.js
 */
import { decodeExportRequest } from '../../src/otlp/decode-request.js';
import { decodeTrace } from '../../src/otlp/trace-decode.js';
import { otlpJsonToProto } from '../../src/otlp/json-request.js';
import { encodeTrace, mergeTraces } from '../../src/otlp/trace-encode.js';
import type { SpanEntry } from '../../src/model/batch.js';
import { generateExportRequest } from '../lib/generate.js';
import { traceToOtlpJson } from '../lib/otlp-json.js';

const SPANS_PER_REQUEST = 1000;
const SPANS_PER_TRACE = 10;
const REQUESTS = 20;

/** Runs `fn` over every input repeatedly for about `ms` milliseconds after a warm-up and prints rates. */
function bench<T>(name: string, inputs: readonly T[], bytesOf: (x: T) => number, spansOf: (x: T) => number, fn: (x: T) => unknown, ms = 1500): void {
  // Warm up long enough for the optimizing compiler to settle.
  const warm = process.hrtime.bigint();
  while (Number(process.hrtime.bigint() - warm) / 1e6 < 400) for (const x of inputs) fn(x);
  let bytes = 0;
  let spans = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < ms) {
    for (const x of inputs) {
      fn(x);
      bytes += bytesOf(x);
      spans += spansOf(x);
    }
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  const sec = elapsed / 1000;
  console.log(
    `${name.padEnd(34)} ${(bytes / sec / 1e6).toFixed(1).padStart(8)} MB/s ${Math.round(spans / sec)
      .toLocaleString('en-US')
      .padStart(12)} spans/s`,
  );
}

const requests: Uint8Array[] = [];
for (let i = 0; i < REQUESTS; i++)
  requests.push(generateExportRequest({ traces: SPANS_PER_REQUEST / SPANS_PER_TRACE, spansPerTrace: SPANS_PER_TRACE, seed: i + 1 }));
const avgBytes = requests.reduce((a, r) => a + r.length, 0) / requests.length;
console.log(
  `${REQUESTS} requests × ${SPANS_PER_REQUEST} spans, ${(avgBytes / 1024).toFixed(0)} KiB each (${(avgBytes / SPANS_PER_REQUEST).toFixed(0)} B/span)`,
);

const jsonBodies = requests.map((r) => traceToOtlpJson(decodeTrace(r)));
const jsonBytes = jsonBodies.map((j) => Buffer.byteLength(j));

bench(
  'decodeExportRequest (ingest scan)',
  requests,
  (r) => r.length,
  () => SPANS_PER_REQUEST,
  (r) => decodeExportRequest(r, 't'),
);
bench(
  'decodeTrace (full objects)',
  requests,
  (r) => r.length,
  () => SPANS_PER_REQUEST,
  (r) => decodeTrace(r),
);
bench(
  'otlpJsonToProto',
  jsonBodies.map((j, i) => [j, jsonBytes[i]!] as const),
  (x) => x[1],
  () => SPANS_PER_REQUEST,
  (x) => otlpJsonToProto(x[0]),
);
bench(
  'otlpJsonToProto + decodeExportRequest',
  jsonBodies.map((j, i) => [j, jsonBytes[i]!] as const),
  (x) => x[1],
  () => SPANS_PER_REQUEST,
  (x) => decodeExportRequest(otlpJsonToProto(x[0]), 't'),
);
// Per-trace encoded traces, as the ingester and querier see them. Built only after the request benches:
// retaining many SpanEntry objects first makes V8 pretenure them, which halves the scan rate above.
const byTrace = new Map<string, SpanEntry[]>();
for (const r of requests) {
  for (const s of decodeExportRequest(r, 't').spans) {
    const list = byTrace.get(s.traceId);
    if (list === undefined) byTrace.set(s.traceId, [s]);
    else list.push(s);
  }
}
const traceSpans = [...byTrace.values()];
const traces = traceSpans.map((s) => encodeTrace(s));
const halves = traceSpans.map((s) => [encodeTrace(s.slice(0, 7)), encodeTrace(s.slice(3))]);

bench(
  'encodeTrace (per trace)',
  traceSpans,
  (s) => s.reduce((a, x) => a + x.span.length, 0),
  (s) => s.length,
  (s) => encodeTrace(s),
);
bench(
  'decodeTrace (per trace)',
  traces,
  (t) => t.length,
  () => SPANS_PER_TRACE,
  (t) => decodeTrace(t),
);
bench(
  'mergeTraces (2 overlapping halves)',
  halves,
  (h) => h[0]!.length + h[1]!.length,
  () => 13,
  (h) => mergeTraces(h),
);
