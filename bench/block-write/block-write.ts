/**
 * Block write benchmark: writeBlock throughput and memory on one core.
 *
 *   node --expose-gc dist/bench/block-write/block-write.js [--spans=1000000] [--spans-per-trace=10] [--runs=1] [--timeline]
 *
 * The traces are generated with the ingest benchmark's generator and grouped into TraceRecords before
 * any timing; then each run writes one block to a temp local backend and prints spans/s, MB/s of
 * encoded input, the process's peak RSS (VmHWM) and how much the write added to RSS. VmHWM is reset
 * before each write through /proc/self/clear_refs so the generation phase does not hide the write's peak.
 * DuckDB is loaded before the first write so its one-time load is not counted as write growth.
 * Env DUCKDB_MEMORY sets DuckDB's memory limit (default: the writer's own default).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalBackend } from '../../src/backend/local.js';
import { configureDuckDB, withDuckDB } from '../../src/block/duckdb.js';
import type { TraceRecord } from '../../src/model/trace-record.js';
import { writeBlock } from '../../src/block/writer.js';
import { decodeExportRequest } from '../../src/otlp/decode-request.js';
import { encodeTrace, type SpanBytes } from '../../src/otlp/trace-encode.js';
import { generateExportRequest } from '../lib/generate.js';

function arg(name: string, def: number): number {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit === undefined ? def : Number(hit.slice(name.length + 3));
}

const SPANS = arg('spans', 1_000_000);
const SPANS_PER_TRACE = arg('spans-per-trace', 10);
const RUNS = arg('runs', 1);
const TRACES_PER_REQUEST = 1000;
const MB = 1e6;

/** A status field of /proc/self/status in bytes (0 when unavailable). */
function procStatus(field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}

async function resetPeak(): Promise<boolean> {
  try {
    await writeFile('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g !== undefined) g();
}

function generate(): TraceRecord[] {
  const traces = Math.floor(SPANS / SPANS_PER_TRACE);
  const byTrace = new Map<string, SpanBytes[]>();
  for (let r = 0; r * TRACES_PER_REQUEST < traces; r++) {
    const n = Math.min(TRACES_PER_REQUEST, traces - r * TRACES_PER_REQUEST);
    const bytes = generateExportRequest({
      traces: n,
      spansPerTrace: SPANS_PER_TRACE,
      seed: 1 + r,
      startUnixNano: 1_767_225_600_000_000_000n + BigInt(r) * 30_000_000_000n,
    });
    for (const s of decodeExportRequest(bytes, 'bench').spans) {
      let list = byTrace.get(s.traceId);
      if (list === undefined) byTrace.set(s.traceId, (list = []));
      list.push({ resource: s.resource, scope: s.scope, span: s.span });
    }
  }
  return [...byTrace.keys()].sort().map((traceId) => ({ traceId, trace: encodeTrace(byTrace.get(traceId)!) }));
}

async function main(): Promise<void> {
  if (process.env['DUCKDB_MEMORY'] !== undefined) configureDuckDB({ memoryLimit: process.env['DUCKDB_MEMORY'] });
  const g0 = performance.now();
  const records = generate();
  const inputBytes = records.reduce((n, r) => n + r.trace.byteLength, 0);
  console.log(`generated ${records.length} traces, ${(inputBytes / MB).toFixed(1)} MB encoded, in ${((performance.now() - g0) / 1000).toFixed(1)} s`);
  // DuckDB's library and instance load on first use (tens of MB of RSS, once per process); load them
  // before measuring so the growth below is the write's own.
  await withDuckDB((c) => c.run('SELECT 1'));
  const root = await mkdtemp(join(tmpdir(), 'rubato-bench-block-write-'));
  try {
    const backend = createLocalBackend(root);
    for (let run = 0; run < RUNS; run++) {
      gc();
      const canReset = await resetPeak();
      const before = procStatus('VmRSS');
      const t0 = performance.now();
      let sampledPeak = before;
      // Max RSS per second of the write, to see whether staging or the DuckDB COPY sets the peak.
      const timeline: number[] = [];
      const sampler = setInterval(() => {
        const rss = procStatus('VmRSS');
        sampledPeak = Math.max(sampledPeak, rss);
        const sec = Math.floor((performance.now() - t0) / 1000);
        timeline[sec] = Math.max(timeline[sec] ?? 0, rss);
      }, 20);
      const meta = await writeBlock(backend, 'bench', records);
      const secs = (performance.now() - t0) / 1000;
      clearInterval(sampler);
      const hwm = procStatus('VmHWM');
      const peak = canReset ? Math.max(hwm, sampledPeak) : sampledPeak;
      console.log(
        `run ${run + 1}: ${meta.totalSpans} spans, ${meta.totalObjects} traces, ${meta.totalRecords} row groups, ` +
          `${(meta.size / MB).toFixed(1)} MB parquet in ${secs.toFixed(2)} s`,
      );
      console.log(`  spans/s        ${(meta.totalSpans / secs).toFixed(0)}  (${((secs * 1e6) / meta.totalSpans).toFixed(2)} µs/span)`);
      console.log(`  input MB/s     ${(inputBytes / MB / secs).toFixed(1)}`);
      console.log(
        `  RSS MB         before ${(before / MB).toFixed(0)}, peak ${(peak / MB).toFixed(0)} (VmHWM${canReset ? '' : ' not resettable; sampled'}), ` +
          `growth ${((peak - before) / MB).toFixed(0)}, after ${(procStatus('VmRSS') / MB).toFixed(0)}`,
      );
      if (process.argv.includes('--timeline')) {
        console.log(`  RSS growth MB by second: ${Array.from(timeline, (v) => (v === undefined ? '-' : ((v - before) / MB).toFixed(0))).join(' ')}`);
      }
      await backend.delete(`bench/${meta.blockID}`);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
