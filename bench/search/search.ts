/**
 * Search benchmark: 10 million spans in blocks (the ingest benchmark's generator, cached under
 * ./.bench/search/), then p50 latency of TraceQL searches through the querier next to the same question
 * asked of DuckDB directly in SQL over the same Parquet files, and of the tag endpoints' work.
 *
 *   node dist/bench/search/search.js     Env: BLOCKS (10), SPANS_PER_BLOCK (1_000_000), SPANS_PER_TRACE (10),
 *                                        RUNS (15), LIMIT (20), REBUILD=1, DUCKDB_MEMORY (default 128MB)
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { configureDuckDB, sqlString, withDuckDB } from '../../src/block/duckdb.js';
import { BLOCK_FILES, blockPath } from '../../src/block/meta.js';
import { Blocklist } from '../../src/querier/blocklist.js';
import { Searcher } from '../../src/querier/search.js';
import { TagService, parseTagRef } from '../../src/querier/tags.js';
import { parse } from '../../src/traceql/index.js';
import { prepareDataset } from './dataset.js';

const env = (k: string, d: number): number => (process.env[k] !== undefined ? Number(process.env[k]) : d);
const BLOCKS = env('BLOCKS', 10);
const SPANS_PER_BLOCK = env('SPANS_PER_BLOCK', 1_000_000);
const SPANS_PER_TRACE = env('SPANS_PER_TRACE', 10);
const RUNS = env('RUNS', 15);
const LIMIT = env('LIMIT', 20);

interface Case {
  readonly label: string;
  readonly traceql: string;
  /** The same question in SQL over `src` (all block files), returning up to LIMIT distinct trace IDs. */
  readonly sql: (src: string) => string;
}

const CASES: readonly Case[] = [
  {
    label: 'attribute equality (dedicated column)',
    traceql: '{ resource.service.name = "payments" }',
    sql: (src) => `SELECT DISTINCT trace_id FROM ${src} WHERE service_name = 'payments' LIMIT ${LIMIT}`,
  },
  {
    label: 'attribute equality (generic attribute list)',
    traceql: '{ span.net.peer.name = "redis.internal.svc.cluster.local" }',
    sql: (src) =>
      `SELECT DISTINCT trace_id FROM ${src} WHERE len(list_filter(span_attrs, x -> x.key = 'net.peer.name' AND x.str = 'redis.internal.svc.cluster.local')) > 0 LIMIT ${LIMIT}`,
  },
  {
    label: 'duration range (no span matches)',
    traceql: '{ duration > 900ms && duration < 1s }',
    sql: (src) => `SELECT DISTINCT trace_id FROM ${src} WHERE duration_nano > 900000000 AND duration_nano < 1000000000 LIMIT ${LIMIT}`,
  },
  {
    label: 'duration range (some spans match)',
    traceql: '{ duration > 199ms && duration < 200ms }',
    sql: (src) => `SELECT DISTINCT trace_id FROM ${src} WHERE duration_nano > 199000000 AND duration_nano < 200000000 LIMIT ${LIMIT}`,
  },
  {
    label: 'regex',
    traceql: '{ name =~ "GET.*" }',
    sql: (src) => `SELECT DISTINCT trace_id FROM ${src} WHERE regexp_full_match(name, 'GET.*') LIMIT ${LIMIT}`,
  },
  {
    label: 'structural',
    traceql: '{ span.http.route = "/api/v1/orders" } >> { status = error }',
    sql: (src) =>
      `SELECT DISTINCT b.trace_id FROM ${src} a JOIN ${src} b ON a.trace_id = b.trace_id ` +
      `WHERE a.http_route = '/api/v1/orders' AND b.status_code = 2 AND b.nested_left > a.nested_left AND b.nested_right < a.nested_right LIMIT ${LIMIT}`,
  },
  {
    label: 'aggregate',
    traceql: '{ span.http.status_code = 503 } | count() > 3',
    sql: (src) => `SELECT trace_id FROM ${src} WHERE http_status_code = 503 GROUP BY trace_id HAVING count(*) > 3 LIMIT ${LIMIT}`,
  },
];

function p50(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const v = await fn();
  return [performance.now() - t0, v];
}

async function measure<T>(fn: () => Promise<T>): Promise<{ p50: number; last: T }> {
  await fn();
  await fn();
  const times: number[] = [];
  let last!: T;
  for (let i = 0; i < RUNS; i++) {
    const [ms, v] = await timed(fn);
    times.push(ms);
    last = v;
  }
  return { p50: p50(times), last };
}

async function main(): Promise<void> {
  const tmp = join('.bench', 'search', 'duckdb-tmp');
  mkdirSync(tmp, { recursive: true });
  configureDuckDB({
    tempDirectory: tmp,
    ...(process.env['DUCKDB_MEMORY'] !== undefined ? { memoryLimit: process.env['DUCKDB_MEMORY'] } : {}),
    // As the server runs it (1); DUCKDB_THREADS=2 to see both sides with two.
    threads: Number(process.env['DUCKDB_THREADS'] ?? 1),
  });

  const t0 = performance.now();
  const data = await prepareDataset({
    blocks: BLOCKS,
    spansPerBlock: SPANS_PER_BLOCK,
    spansPerTrace: SPANS_PER_TRACE,
    rebuild: process.env['REBUILD'] === '1',
  });
  const spans = data.metas.reduce((n, m) => n + m.totalSpans, 0);
  const bytes = data.metas.reduce((n, m) => n + m.size, 0);
  console.log(
    data.buildSeconds > 0
      ? `generated and wrote ${spans} spans in ${data.metas.length} blocks (${(bytes / 1e6).toFixed(0)} MB) in ${data.buildSeconds.toFixed(0)} s`
      : `reusing ${spans} spans in ${data.metas.length} blocks (${(bytes / 1e6).toFixed(0)} MB) under ${data.dir} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );

  const blocklist = new Blocklist(data.backend, pino({ level: 'silent' }));
  await blocklist.poll();
  const searcher = new Searcher([blocklist]);
  const tags = new TagService([blocklist]);
  // Newest block first, as the searcher reads them.
  const files = [...data.metas]
    .sort((a, b) => (a.endTime < b.endTime ? 1 : -1))
    .map((m) => data.backend.localPath(blockPath(data.tenant, m.blockID, BLOCK_FILES.data))!);
  const src = `read_parquet([${files.map(sqlString).join(', ')}])`;

  const [warmMs] = await timed(() => tags.warm(data.tenant));
  console.log(`\nreading every block's attribute keys once (done in the background when blocks appear): ${(warmMs / 1000).toFixed(1)} s`);
  console.log('tag endpoints after that (first = first call, p50 = later calls):');
  const tagCases: [string, () => Promise<number>][] = [
    ['tag names, all scopes', async () => (await tags.tagNames(data.tenant, ['resource', 'span', 'intrinsic'])).reduce((n, s) => n + s.tags.length, 0)],
    ['values resource.service.name', async () => (await tags.tagValues(data.tenant, parseTagRef('resource.service.name'))).length],
    ['values span.http.method', async () => (await tags.tagValues(data.tenant, parseTagRef('span.http.method'))).length],
    ['values name', async () => (await tags.tagValues(data.tenant, parseTagRef('name'))).length],
    [
      'values span.http.route with q',
      async () => (await tags.tagValues(data.tenant, parseTagRef('span.http.route'), { query: parse('{ resource.service.name = "cart" }') })).length,
    ],
  ];
  for (const [label, fn] of tagCases) {
    const [cold, n] = await timed(fn);
    const warm = await measure(fn);
    console.log(`  ${label.padEnd(34)} first ${cold.toFixed(0).padStart(6)} ms   p50 ${warm.p50.toFixed(1).padStart(7)} ms   (${n} values)`);
  }

  console.log(`\nsearch, limit ${LIMIT}, p50 of ${RUNS} runs (rubato = TraceQL through the querier; duckdb = the same question in SQL):`);
  for (const c of CASES) {
    const query = parse(c.traceql);
    const ours = await measure(() => searcher.search(data.tenant, { query, limit: LIMIT, spss: 3 }));
    let ref: { p50: number; last: number } | null = null;
    let refErr = '';
    try {
      ref = await measure(() => withDuckDB(async (conn) => (await conn.runAndReadAll(c.sql(src))).getRows().length));
    } catch (err) {
      refErr = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    }
    const ratio = ref === null ? '' : `${(ours.p50 / ref.p50).toFixed(2)}×`;
    console.log(
      `  ${c.label.padEnd(44)} rubato ${ours.p50.toFixed(1).padStart(8)} ms (${ours.last.traces.length} traces, ${ours.last.metrics.inspectedTraces} inspected)` +
        `   duckdb ${ref === null ? `failed: ${refErr}` : `${ref.p50.toFixed(1).padStart(8)} ms (${ref.last} traces)`}   ${ratio}`,
    );
  }
  console.log(`\npeak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
}

await main();
