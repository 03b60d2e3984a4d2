/**
 * Event / link / instrumentation attribute pre-filter, before and after: the same blocks as the
 * search benchmark (written in the current format) searched with the block reader told it has format 1
 * columns (as every block had before the event, link and scope attribute columns: such conditions
 * could not be pushed down, so every trace was fetched and evaluated) and with format 2 (pushed down).
 * Prints p50 time, the bytes read from data.parquet (rchar of /proc/self/io: DuckDB's preads, page
 * cache hits included) and the traces fetched, then the same through the querier.
 *
 *   node dist/bench/search/scoped-attrs.js   Env: BLOCKS (10), SPANS_PER_BLOCK (1_000_000), SPANS_PER_TRACE (10),
 *                                            RUNS (5), LIMIT (20), REBUILD=1
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { configureDuckDB } from '../../src/block/duckdb.js';
import { BLOCK_FILES, blockPath } from '../../src/block/meta.js';
import { searchBlock, type BlockKeys } from '../../src/block/search.js';
import { parseKeysFile } from '../../src/block/tags.js';
import { decodeTrace } from '../../src/otlp/trace-decode.js';
import { Blocklist } from '../../src/querier/blocklist.js';
import { Searcher } from '../../src/querier/search.js';
import { buildEvalTrace, evaluate, extractConditions, parse } from '../../src/traceql/index.js';
import { prepareDataset } from './dataset.js';

const env = (k: string, d: number): number => (process.env[k] !== undefined ? Number(process.env[k]) : d);
const BLOCKS = env('BLOCKS', 10);
const SPANS_PER_BLOCK = env('SPANS_PER_BLOCK', 1_000_000);
const SPANS_PER_TRACE = env('SPANS_PER_TRACE', 10);
const RUNS = env('RUNS', 5);
const LIMIT = env('LIMIT', 20);

const QUERIES = [
  // No span has it: after, every block is ruled out by the column; before, every trace is decoded.
  '{ event.exception.type = "x" }',
  // Errors carry it: both stop at LIMIT traces, after without fetching non-matching ones.
  '{ event.exception.type = "TimeoutError" && resource.service.name = "cart" }',
  '{ event.cache.key = "user:4711" && span.http.status_code = 503 }',
];

function rchar(): number {
  const m = /^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
  return m === null ? 0 : Number(m[1]);
}

function p50(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Run {
  ms: number;
  bytes: number;
  found: number;
  fetched: number;
}

async function main(): Promise<void> {
  const tmp = join('.bench', 'search', 'duckdb-tmp');
  mkdirSync(tmp, { recursive: true });
  configureDuckDB({ tempDirectory: tmp, threads: Number(process.env['DUCKDB_THREADS'] ?? 1) });
  const data = await prepareDataset({
    blocks: BLOCKS,
    spansPerBlock: SPANS_PER_BLOCK,
    spansPerTrace: SPANS_PER_TRACE,
    rebuild: process.env['REBUILD'] === '1',
  });
  const spans = data.metas.reduce((n, m) => n + m.totalSpans, 0);
  const size = data.metas.reduce((n, m) => n + m.size, 0);
  console.log(`${spans} spans in ${data.metas.length} blocks (${(size / 1e6).toFixed(0)} MB, format ${data.metas[0]?.format}) under ${data.dir}`);
  const blocks = [...data.metas]
    .sort((a, b) => (a.endTime < b.endTime ? 1 : -1))
    .map((m) => {
      const file = data.backend.localPath(blockPath(data.tenant, m.blockID, BLOCK_FILES.data))!;
      const keys = parseKeysFile(readFileSync(data.backend.localPath(blockPath(data.tenant, m.blockID, BLOCK_FILES.keys))!), 2);
      if (keys === null) throw new Error(`block ${m.blockID}: no format 2 keys.json (REBUILD=1 rewrites the blocks)`);
      return { file, keys };
    });

  // The querier's loop over blocks, newest first, stopping at LIMIT matching traces.
  const search = async (q: string, version: 1 | 2): Promise<Run> => {
    const root = parse(q);
    const conditions = extractConditions(root);
    const stats = { inspectedTraces: 0, inspectedBytes: 0, candidateRows: 0 };
    const r0 = rchar();
    const t0 = performance.now();
    let found = 0;
    outer: for (const b of blocks) {
      // A format 1 block's keys.json lists span and resource keys only.
      const keys: BlockKeys = version === 2 ? b.keys : { span: b.keys.span, resource: b.keys.resource };
      for await (const batch of searchBlock(b.file, { conditions, keys, formatVersion: version }, { batchSize: () => 64, stats })) {
        for (const t of batch) if (evaluate(root, buildEvalTrace(decodeTrace(t.trace))).length > 0) found++;
        if (found >= LIMIT) break outer;
      }
    }
    return { ms: performance.now() - t0, bytes: rchar() - r0, found, fetched: stats.inspectedTraces };
  };

  console.log(`\nblock reader, limit ${LIMIT}, p50 of ${RUNS} runs after one warm-up (bytes: data.parquet reads of the last run)`);
  for (const q of QUERIES) {
    for (const version of [1, 2] as const) {
      await search(q, version);
      const runs: Run[] = [];
      for (let i = 0; i < RUNS; i++) runs.push(await search(q, version));
      const last = runs[runs.length - 1]!;
      console.log(
        `  ${version === 1 ? 'before (format 1 columns)' : 'after  (format 2 columns)'}  ${q.padEnd(78)} ${p50(runs.map((r) => r.ms))
          .toFixed(1)
          .padStart(9)} ms  ${(last.bytes / 1e6).toFixed(1).padStart(8)} MB read  ${String(last.fetched).padStart(8)} traces fetched  ${last.found} found`,
      );
    }
  }

  const blocklist = new Blocklist(data.backend, pino({ level: 'silent' }));
  await blocklist.poll();
  const searcher = new Searcher([blocklist]);
  console.log(`\nthrough the querier (format 2 blocks), p50 of ${RUNS} runs:`);
  for (const q of QUERIES) {
    const query = parse(q);
    const times: number[] = [];
    let inspected = 0;
    let bytes = 0;
    await searcher.search(data.tenant, { query, limit: LIMIT, spss: 3 });
    for (let i = 0; i < RUNS; i++) {
      const r0 = rchar();
      const t0 = performance.now();
      const res = await searcher.search(data.tenant, { query, limit: LIMIT, spss: 3 });
      times.push(performance.now() - t0);
      bytes = rchar() - r0;
      inspected = res.metrics.inspectedTraces;
    }
    console.log(`  ${q.padEnd(78)} ${p50(times).toFixed(1).padStart(9)} ms  ${(bytes / 1e6).toFixed(1).padStart(8)} MB read  ${inspected} traces inspected`);
  }
  console.log(`\npeak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
}

await main();
