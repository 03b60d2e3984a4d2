/**
 * Object-storage read benchmark: writes BLOCKS blocks of SPANS_PER_BLOCK synthetic spans to a local
 * MinIO (started here, as the tests do), then measures, per block, the bytes fetched from S3 and the
 * latency of trace-by-ID lookups and a search, cold (a freshly opened block: empty cache) and warm
 * (the block's cache file already holds the footer and what earlier queries fetched). Bytes count every
 * S3 read (bloom filter, index pages and data.parquet ranges); data.parquet's share is shown apart.
 *
 * Env: BLOCKS (3), SPANS_PER_BLOCK (200_000), SPANS_PER_TRACE (10), LOOKUPS (20 per block),
 * ROW_GROUP_ROWS (8_192). Needs MinIO (.ci/run installs it; RUBATO_MINIO_BIN overrides the path).
 */
import { performance } from 'node:perf_hooks';
import type { Backend } from '../../src/backend/backend.js';
import { createS3Backend } from '../../src/backend/s3.js';
import { openBlock } from '../../src/block/encoding.js';
import type { BlockMeta } from '../../src/block/meta.js';
import { DEFAULT_ROW_GROUP_ROWS, writeBlock } from '../../src/block/writer.js';
import { rng, syntheticTrace } from '../../test/support/synthetic-traces.js';
import type { TraceRecord } from '../../src/model/trace-record.js';
import { extractConditions, parse } from '../../src/traceql/index.js';
import { createBucket, minioEndpoint, minioOptions } from '../../test/support/minio.js';

const env = (k: string, d: number): number => (process.env[k] !== undefined ? Number(process.env[k]) : d);
const BLOCKS = env('BLOCKS', 3);
const SPANS_PER_BLOCK = env('SPANS_PER_BLOCK', 200_000);
const SPANS_PER_TRACE = env('SPANS_PER_TRACE', 10);
const LOOKUPS = env('LOOKUPS', 20);
const ROW_GROUP_ROWS = env('ROW_GROUP_ROWS', DEFAULT_ROW_GROUP_ROWS);
const TENANT = 'bench';
const SEARCH = '{ resource.service.name = "payment" && span.http.status_code = 500 }';

const counter = { bytes: 0, requests: 0, dataBytes: 0 };

/** Counts every byte read back from S3. */
function counted(b: Backend): Backend {
  return {
    ...b,
    async read(path) {
      const buf = await b.read(path);
      counter.requests++;
      counter.bytes += buf?.byteLength ?? 0;
      return buf;
    },
    async readRange(path, off, len) {
      const buf = await b.readRange(path, off, len);
      counter.requests++;
      counter.bytes += buf.byteLength;
      if (path.endsWith('data.parquet')) counter.dataBytes += buf.byteLength;
      return buf;
    },
  };
}

function hexId(r: () => number): string {
  let s = '';
  for (let i = 0; i < 16; i++)
    s += Math.floor(r() * 256)
      .toString(16)
      .padStart(2, '0');
  return s;
}

function* blockTraces(block: number, sample: string[]): Generator<TraceRecord> {
  const r = rng(500 + block);
  const n = Math.floor(SPANS_PER_BLOCK / SPANS_PER_TRACE);
  const ids = [...new Set(Array.from({ length: n }, () => hexId(r)))].sort();
  const step = Math.max(1, Math.floor(ids.length / LOOKUPS));
  const base = 1_767_225_600_000_000_000n + BigInt(block) * 600_000_000_000n;
  for (let i = 0; i < ids.length; i++) {
    if (i % step === 0 && sample.length < LOOKUPS) sample.push(ids[i]!);
    yield { traceId: ids[i]!, trace: syntheticTrace(ids[i]!, SPANS_PER_TRACE, r, base + BigInt(i) * 5_000_000n) };
  }
}

interface Sample {
  ms: number;
  bytes: number;
  dataBytes: number;
  requests: number;
}

async function measure(fn: () => Promise<unknown>): Promise<Sample> {
  const b0 = counter.bytes;
  const d0 = counter.dataBytes;
  const r0 = counter.requests;
  const t = performance.now();
  await fn();
  return { ms: performance.now() - t, bytes: counter.bytes - b0, dataBytes: counter.dataBytes - d0, requests: counter.requests - r0 };
}

function summary(name: string, xs: Sample[]): void {
  const ms = xs.map((x) => x.ms).sort((a, b) => a - b);
  const p = (q: number): number => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!;
  const bytes = xs.reduce((a, x) => a + x.bytes, 0) / xs.length;
  const reqs = xs.reduce((a, x) => a + x.requests, 0) / xs.length;
  const data = xs.reduce((a, x) => a + x.dataBytes, 0) / xs.length;
  console.log(
    `${name.padEnd(34)} n=${String(xs.length).padStart(3)}  p50 ${p(0.5).toFixed(1).padStart(7)} ms  p99 ${p(0.99).toFixed(1).padStart(7)} ms  ` +
      `fetched ${(bytes / 1024).toFixed(1).padStart(9)} KiB/query (data.parquet ${(data / 1024).toFixed(1).padStart(9)} KiB)  ${reqs.toFixed(1).padStart(5)} requests/query`,
  );
}

async function main(): Promise<void> {
  const endpoint = await minioEndpoint();
  const bucket = `rubato-bench-${Date.now()}`;
  await createBucket(endpoint, bucket);
  const backend = counted(createS3Backend(minioOptions(endpoint, bucket)));

  const metas: BlockMeta[] = [];
  const samples: string[][] = [];
  const tw = performance.now();
  for (let b = 0; b < BLOCKS; b++) {
    const sample: string[] = [];
    metas.push(await writeBlock(backend, TENANT, blockTraces(b, sample), { rowGroupRows: ROW_GROUP_ROWS }));
    samples.push(sample);
  }
  const writeMs = performance.now() - tw;
  const total = metas.reduce((a, m) => a + m.size, 0);
  console.log(
    `${BLOCKS} blocks × ${SPANS_PER_BLOCK} spans written to MinIO in ${(writeMs / 1000).toFixed(1)} s; data.parquet ` +
      `${(total / BLOCKS / 1024 / 1024).toFixed(1)} MiB per block, ${metas[0]!.totalRecords} row groups`,
  );

  const open: Sample[] = [];
  const cold: Sample[] = [];
  const warm: Sample[] = [];
  const again: Sample[] = [];
  const searchCold: Sample[] = [];
  const searchWarm: Sample[] = [];
  const conditions = extractConditions(parse(SEARCH));
  for (let b = 0; b < BLOCKS; b++) {
    const meta = metas[b]!;
    const ids = samples[b]!;
    // Trace by ID: the first lookup on a fresh block, then the rest (footer cached), then a repeat.
    let block = await openBlock(backend, meta);
    open.push(await measure(() => openBlock(backend, meta).then((x) => x.close())));
    cold.push(await measure(() => block.findTrace(ids[0]!)));
    for (const id of ids.slice(1)) warm.push(await measure(() => block.findTrace(id)));
    for (const id of ids) again.push(await measure(() => block.findTrace(id)));
    await block.close();
    // Search on a fresh block, then again.
    block = await openBlock(backend, meta);
    const run = async (): Promise<void> => {
      let n = 0;
      for await (const batch of block.search({ conditions }, { batchSize: () => 64 })) n += batch.length;
      if (n === 0) throw new Error('search found nothing');
    };
    searchCold.push(await measure(run));
    searchWarm.push(await measure(run));
    await block.close();
  }
  console.log(`whole data.parquet (what a full copy would fetch): ${(total / BLOCKS / 1024).toFixed(1)} KiB per block`);
  summary('open block (bloom + index)', open);
  summary('trace by ID, cold block', cold);
  summary('trace by ID, warm block (new ID)', warm);
  summary('trace by ID, warm block (same ID)', again);
  summary(`search, cold block`, searchCold);
  summary(`search, warm block`, searchWarm);
  console.log(`search: ${SEARCH}`);
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  console.log('note: 2 shared cores, loopback MinIO: latencies are noisy and exclude real network latency');
  process.exit(0);
}

await main();
