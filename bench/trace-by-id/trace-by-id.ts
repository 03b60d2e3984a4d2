/**
 * Trace-by-ID benchmark over blocks: builds (or reuses, under ./.bench/trace-by-id/) BLOCKS blocks of
 * SPANS_PER_BLOCK synthetic spans, then looks up LOOKUPS random existing trace IDs through the querier
 * (every block checks its bloom filter and index, and reads only where they say yes) and prints latency
 * percentiles, lookups/s, write throughput and peak RSS.
 *
 * Env: BLOCKS (10), SPANS_PER_BLOCK (1_000_000), SPANS_PER_TRACE (10), LOOKUPS (1000), ROW_GROUP_ROWS
 * (8_192), REBUILD=1 to rebuild.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createLocalBackend } from '../../src/backend/local.js';
import type { BlockMeta } from '../../src/block/meta.js';
import { configureDuckDB } from '../../src/block/duckdb.js';
import { listBlocks } from '../../src/block/listing.js';
import { Blocklist } from '../../src/querier/blocklist.js';
import { Querier } from '../../src/querier/querier.js';
import { pino } from 'pino';
import { rng, syntheticTrace } from '../../test/support/synthetic-traces.js';
import type { TraceRecord } from '../../src/model/trace-record.js';
import { DEFAULT_ROW_GROUP_ROWS, writeBlock } from '../../src/block/writer.js';

const env = (k: string, d: number): number => (process.env[k] !== undefined ? Number(process.env[k]) : d);
const BLOCKS = env('BLOCKS', 10);
const SPANS_PER_BLOCK = env('SPANS_PER_BLOCK', 1_000_000);
const SPANS_PER_TRACE = env('SPANS_PER_TRACE', 10);
const LOOKUPS = env('LOOKUPS', 1000);
const ROW_GROUP_ROWS = env('ROW_GROUP_ROWS', DEFAULT_ROW_GROUP_ROWS);
const TENANT = 'bench';
const dir = resolve('.bench', 'trace-by-id', `${BLOCKS}x${SPANS_PER_BLOCK}x${SPANS_PER_TRACE}-rg${ROW_GROUP_ROWS}`);
const idsFile = join(dir, 'sample-ids.json');

function hexId(r: () => number): string {
  let s = '';
  for (let i = 0; i < 16; i++)
    s += Math.floor(r() * 256)
      .toString(16)
      .padStart(2, '0');
  return s;
}

/** Time spent generating synthetic traces, so write throughput can be reported without it. */
let genMs = 0;

async function* blockTraces(block: number, sample: string[]): AsyncGenerator<TraceRecord> {
  const r = rng(1000 + block);
  const n = Math.floor(SPANS_PER_BLOCK / SPANS_PER_TRACE);
  const ids = Array.from({ length: n }, () => hexId(r)).sort();
  const base = 1_767_225_600_000_000_000n + BigInt(block) * 600_000_000_000n;
  for (let i = 0; i < ids.length; i++) {
    if (i > 0 && ids[i] === ids[i - 1]) continue;
    if (r() < (LOOKUPS * 2) / (n * BLOCKS)) sample.push(ids[i]!);
    const g = performance.now();
    const trace = syntheticTrace(ids[i]!, SPANS_PER_TRACE, r, base + BigInt(i) * 5_000_000n);
    genMs += performance.now() - g;
    yield { traceId: ids[i]!, trace };
  }
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  if (process.env['DUCKDB_MEMORY'] !== undefined) configureDuckDB({ memoryLimit: process.env['DUCKDB_MEMORY'] });
  const backend = createLocalBackend(join(dir, 'blocks'));
  let metas: BlockMeta[] = process.env['REBUILD'] === '1' ? [] : await listBlocks(backend, TENANT);
  let sample: string[] = [];
  if (metas.length === BLOCKS) {
    sample = JSON.parse(await readFile(idsFile, 'utf8')) as string[];
    console.log(`reusing ${metas.length} blocks under ${dir}`);
  } else {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    metas = [];
    let totalMs = 0;
    let totalSpans = 0;
    for (let b = 0; b < BLOCKS; b++) {
      const t0 = performance.now();
      const meta = await writeBlock(backend, TENANT, blockTraces(b, sample), { rowGroupRows: ROW_GROUP_ROWS });
      const ms = performance.now() - t0;
      totalMs += ms;
      totalSpans += meta.totalSpans;
      metas.push(meta);
      console.log(
        `block ${b}: ${meta.totalSpans} spans, ${meta.totalObjects} traces, ${(meta.size / 1e6).toFixed(1)} MB parquet, ` +
          `${meta.totalRecords} row groups, ${(ms / 1000).toFixed(1)} s (${Math.round(meta.totalSpans / (ms / 1000))} spans/s), ` +
          `rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`,
      );
    }
    console.log(
      `write: ${totalSpans} spans in ${(totalMs / 1000).toFixed(1)} s = ${Math.round(totalSpans / (totalMs / 1000))} spans/s; ` +
        `without synthetic generation (${(genMs / 1000).toFixed(1)} s): ${Math.round(totalSpans / ((totalMs - genMs) / 1000))} spans/s`,
    );
    await writeFile(idsFile, JSON.stringify(sample));
  }

  const blocklist = new Blocklist(backend, pino({ level: 'silent' }));
  await blocklist.poll();
  const querier = new Querier([blocklist]);
  const r = rng(7);
  const ids = Array.from({ length: LOOKUPS }, () => sample[Math.floor(r() * sample.length)]!);
  // Warm-up: first query loads DuckDB and the Parquet footers.
  for (const id of ids.slice(0, 20)) await querier.findTraceById(TENANT, id);

  const lat: number[] = [];
  let found = 0;
  const t0 = performance.now();
  for (const id of ids) {
    const s = performance.now();
    const hit = (await querier.findTraceById(TENANT, id)) !== null;
    lat.push(performance.now() - s);
    if (hit) found++;
  }
  const total = performance.now() - t0;
  lat.sort((a, b) => a - b);
  const spans = metas.reduce((a, m) => a + m.totalSpans, 0);
  console.log(
    `lookups: ${LOOKUPS} over ${metas.length} blocks / ${spans} spans, found ${found}\n` +
      `  p50 ${pct(lat, 50).toFixed(2)} ms  p99 ${pct(lat, 99).toFixed(2)} ms  max ${lat[lat.length - 1]!.toFixed(2)} ms  ` +
      `${Math.round(LOOKUPS / (total / 1000))} lookups/s\n` +
      `  peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
  );
  if (found !== LOOKUPS) process.exitCode = 1;
}

await main();
