/**
 * Streaming benchmark (Grafana's "Streaming" setting): a real rubato with stream_over_http_enabled,
 * BLOCKS blocks of generated traces plus recent data, then tempopb.StreamingQuerier calls on the HTTP
 * port. Prints, per query, the time to the first message and to the end of the call (p50/p99 over
 * RUNS), the messages per call, and the same query's time over plain HTTP for comparison.
 *
 *   npm run bench:streaming      Env: BLOCKS (4), SPANS_PER_BLOCK (25_000), RUNS (10)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials, makeGenericClientConstructor, Metadata, type ClientReadableStream } from '@grpc/grpc-js';
import { generateExportRequest } from '../lib/generate.js';
import { startServer } from '../lib/server.js';
import { WireWriter } from '../../src/otlp/wire.js';
import { STREAMING_METHODS } from '../../src/api/streaming.js';

const env = (k: string, d: number): number => (process.env[k] !== undefined ? Number(process.env[k]) : d);
const BLOCKS = env('BLOCKS', 4);
const SPANS_PER_BLOCK = env('SPANS_PER_BLOCK', 25_000);
const RUNS = env('RUNS', 10);
const SPANS_PER_TRACE = 10;
const TRACES_PER_REQUEST = 100;

type Streaming = Client & Record<string, (req: Buffer, md: Metadata) => ClientReadableStream<Buffer>>;

interface Case {
  readonly name: string;
  readonly method: 'Search' | 'MetricsQueryRange';
  readonly request: (startS: number, endS: number) => Buffer;
  readonly http: (startS: number, endS: number) => string;
}

function searchRequest(q: string, limit: number, startS: number, endS: number): Buffer {
  const w = new WireWriter();
  w.tag(4, 0);
  w.varint(limit);
  w.tag(5, 0);
  w.varint(startS);
  w.tag(6, 0);
  w.varint(endS);
  w.stringField(8, q);
  return Buffer.from(w.finish());
}

function rangeRequest(q: string, startS: number, endS: number, stepS: number): Buffer {
  const w = new WireWriter();
  w.stringField(1, q);
  for (const [f, s] of [
    [2, startS],
    [3, endS],
    [4, stepS],
  ] as const) {
    w.tag(f, 0);
    w.varint64(BigInt(s) * 1_000_000_000n);
  }
  return Buffer.from(w.finish());
}

const qs = (o: Record<string, string | number>): string => new URLSearchParams(Object.entries(o).map(([k, v]): [string, string] => [k, String(v)])).toString();

const CASES: readonly Case[] = [
  {
    name: 'search { status = error } limit 20',
    method: 'Search',
    request: (s, e) => searchRequest('{ status = error }', 20, s, e),
    http: (s, e) => `/api/search?${qs({ q: '{ status = error }', limit: 20, start: s, end: e })}`,
  },
  {
    name: 'search rare match, every block read',
    method: 'Search',
    request: (s, e) => searchRequest('{ status = error && duration > 199ms && kind = server }', 20, s, e),
    http: (s, e) => `/api/search?${qs({ q: '{ status = error && duration > 199ms && kind = server }', limit: 20, start: s, end: e })}`,
  },
  {
    name: 'metrics { } | rate() by (service)',
    method: 'MetricsQueryRange',
    request: (s, e) => rangeRequest('{ } | rate() by (resource.service.name)', s, e, 60),
    http: (s, e) => `/api/metrics/query_range?${qs({ q: '{ } | rate() by (resource.service.name)', start: s, end: e, step: '60s' })}`,
  },
];

/** One streamed call: ms to the first message, ms to the end, messages. */
function streamed(client: Streaming, method: string, req: Buffer): Promise<{ first: number; total: number; messages: number }> {
  const t0 = performance.now();
  let first = -1;
  let messages = 0;
  return new Promise((resolve, reject) => {
    const call = client[method]!(req, new Metadata());
    call.on('data', () => {
      if (first < 0) first = performance.now() - t0;
      messages++;
    });
    call.on('error', reject);
    call.on('end', () => resolve({ first, total: performance.now() - t0, messages }));
  });
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function ingest(grpcPort: number, httpPort: number, startNs: bigint): Promise<number> {
  const otlp = new Client(`127.0.0.1:${grpcPort}`, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 << 20 });
  const send = (req: Uint8Array): Promise<void> =>
    new Promise((resolve, reject) =>
      otlp.makeUnaryRequest(
        '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
        (b: Uint8Array) => Buffer.from(b),
        (b: Buffer) => b,
        req,
        (err) => (err === null ? resolve() : reject(err)),
      ),
    );
  const requestsPerBlock = Math.ceil(SPANS_PER_BLOCK / (TRACES_PER_REQUEST * SPANS_PER_TRACE));
  // Spread over the 40 minutes before now, oldest block first; the last part stays recent data.
  const totalRequests = requestsPerBlock * (BLOCKS + 1);
  const gapNs = 2_400_000_000_000n / BigInt(totalRequests);
  let spans = 0;
  for (let b = 0; b <= BLOCKS; b++) {
    for (let r = 0; r < requestsPerBlock; r++) {
      const i = b * requestsPerBlock + r;
      await send(
        generateExportRequest({ traces: TRACES_PER_REQUEST, spansPerTrace: SPANS_PER_TRACE, seed: i + 1, startUnixNano: startNs + BigInt(i) * gapNs }),
      );
      spans += TRACES_PER_REQUEST * SPANS_PER_TRACE;
    }
    if (b < BLOCKS) {
      const r = await fetch(`http://127.0.0.1:${httpPort}/flush`, { method: 'POST' });
      if (r.status !== 204) throw new Error(`flush: ${r.status}`);
    }
  }
  otlp.close();
  return spans;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rubato-bench-streaming-'));
  const server = await startServer(dir, { extraYaml: ['stream_over_http_enabled: true'] });
  try {
    await server.ready();
    const nowS = Math.floor(Date.now() / 1000);
    const spans = await ingest(server.grpcPort, server.httpPort, BigInt(nowS - 2400) * 1_000_000_000n);
    const startS = Math.floor((nowS - 3600) / 60) * 60;
    const endS = nowS + 60;
    const Ctor = makeGenericClientConstructor(STREAMING_METHODS, 'StreamingQuerier');
    const client = new Ctor(`127.0.0.1:${server.httpPort}`, credentials.createInsecure()) as Streaming;
    console.log(`${spans} spans: ${BLOCKS} blocks of ${SPANS_PER_BLOCK} and the rest recent; ${RUNS} runs each (shared machine: noisy)\n`);
    for (const c of CASES) {
      const req = c.request(startS, endS);
      await streamed(client, c.method, req);
      const firsts: number[] = [];
      const totals: number[] = [];
      const https: number[] = [];
      let messages = 0;
      for (let i = 0; i < RUNS; i++) {
        const r = await streamed(client, c.method, req);
        firsts.push(r.first);
        totals.push(r.total);
        messages += r.messages;
        const t0 = performance.now();
        const h = await fetch(`http://127.0.0.1:${server.httpPort}${c.http(startS, endS)}`);
        await h.arrayBuffer();
        if (h.status !== 200) throw new Error(`${c.http(startS, endS)}: ${h.status}`);
        https.push(performance.now() - t0);
      }
      const f = (xs: number[]): string => `p50 ${pct(xs, 50).toFixed(1).padStart(7)} ms  p99 ${pct(xs, 99).toFixed(1).padStart(7)} ms`;
      console.log(c.name);
      console.log(`  gRPC first message  ${f(firsts)}`);
      console.log(`  gRPC whole answer   ${f(totals)}   ${(messages / RUNS).toFixed(1)} messages per call`);
      console.log(`  HTTP whole answer   ${f(https)}`);
    }
    client.close();
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
