/**
 * TraceQL metrics benchmark: the search benchmark's 10 million spans in blocks (cached under
 * ./.bench/search/), then p50 latency of three metrics queries over one hour at step 60 s through the
 * querier, next to the same answer computed by DuckDB SQL (GROUP BY time bucket) over the same Parquet
 * files in the same run, one DuckDB thread each; and the process's peak RSS while rubato answers.
 *
 *   node dist/bench/metrics/metrics.js   Env: BLOCKS (10), SPANS_PER_BLOCK (1_000_000), SPANS_PER_TRACE (10),
 *                                        RUNS (9), EXEMPLARS (100), REBUILD=1
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { configureDuckDB, sqlString, withDuckDB } from '../../src/block/duckdb.js';
import { BLOCK_FILES, blockPath } from '../../src/block/meta.js';
import { Blocklist } from '../../src/querier/blocklist.js';
import { MetricsQuerier, type MetricsAnswer } from '../../src/querier/metrics.js';
import { parse } from '../../src/traceql/index.js';
import { prepareDataset } from '../search/dataset.js';

const env = (k: string, d: number): number => (process.env[k] !== undefined ? Number(process.env[k]) : d);
const BLOCKS = env('BLOCKS', 10);
const SPANS_PER_BLOCK = env('SPANS_PER_BLOCK', 1_000_000);
const SPANS_PER_TRACE = env('SPANS_PER_TRACE', 10);
const RUNS = env('RUNS', 9);
const EXEMPLARS = env('EXEMPLARS', 100);
const STEP_S = 60;

interface Case {
  readonly traceql: string;
  /** The same answer in SQL over `src`, spans starting in (s0, e], intervals of the step. */
  readonly sql: (src: string, s0: bigint, e: bigint) => string;
  /** Total of the answer (count of spans), to check both sides agree; null when not comparable. */
  readonly total: ((a: MetricsAnswer) => number) | null;
}

const bucket = (s0: bigint): string => `(start_unix_nano - ${s0} - 1) // ${BigInt(STEP_S) * 1_000_000_000n}`;
const inRange = (s0: bigint, e: bigint): string => `start_unix_nano > ${s0} AND start_unix_nano <= ${e}`;
const sumValues = (a: MetricsAnswer): number => a.series.reduce((n, s) => n + s.values.reduce((m, v) => m + (Number.isNaN(v) ? 0 : v), 0), 0);

const CASES: readonly Case[] = [
  {
    traceql: '{ } | rate() by (resource.service.name)',
    sql: (src, s0, e) => `SELECT service_name, ${bucket(s0)} AS iv, count(*) / ${STEP_S}.0 AS v FROM ${src} WHERE ${inRange(s0, e)} GROUP BY ALL`,
    total: (a) => sumValues(a) * STEP_S,
  },
  {
    traceql: '{ status = error } | count_over_time() by (span.http.route)',
    sql: (src, s0, e) => `SELECT http_route, ${bucket(s0)} AS iv, count(*) AS v FROM ${src} WHERE ${inRange(s0, e)} AND status_code = 2 GROUP BY ALL`,
    total: sumValues,
  },
  {
    traceql: '{ } | quantile_over_time(duration, .5, .99) by (resource.service.name)',
    sql: (src, s0, e) =>
      `SELECT service_name, ${bucket(s0)} AS iv, quantile_disc(duration_nano, [0.5, 0.99]) AS v FROM ${src} WHERE ${inRange(s0, e)} GROUP BY ALL`,
    total: null,
  },
];

function p50(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function measure<T>(fn: () => Promise<T>): Promise<{ p50: number; last: T }> {
  await fn();
  const times: number[] = [];
  let last!: T;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    last = await fn();
    times.push(performance.now() - t0);
  }
  return { p50: p50(times), last };
}

/** Peak RSS while `fn` runs, sampled every 10 ms. */
async function peakRss<T>(fn: () => Promise<T>): Promise<[number, T]> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  try {
    const v = await fn();
    peak = Math.max(peak, process.memoryUsage.rss());
    return [peak, v];
  } finally {
    clearInterval(timer);
  }
}

async function main(): Promise<void> {
  const tmp = join('.bench', 'search', 'duckdb-tmp');
  mkdirSync(tmp, { recursive: true });
  configureDuckDB({ tempDirectory: tmp, threads: 1 });
  const data = await prepareDataset({
    blocks: BLOCKS,
    spansPerBlock: SPANS_PER_BLOCK,
    spansPerTrace: SPANS_PER_TRACE,
    rebuild: process.env['REBUILD'] === '1',
  });
  const spans = data.metas.reduce((n, m) => n + m.totalSpans, 0);
  console.log(`${spans} spans in ${data.metas.length} blocks under ${data.dir}`);
  const first = data.metas.reduce((m, x) => Math.min(m, Date.parse(x.startTime)), Infinity);
  const last = data.metas.reduce((m, x) => Math.max(m, Date.parse(x.endTime)), 0);
  // One hour in the middle of the data, on minute boundaries.
  const startS = Math.floor((first + (last - first) / 2) / 60_000) * 60 - 1800;
  const endS = startS + 3600;
  const startNs = BigInt(startS) * 1_000_000_000n;
  const endNs = BigInt(endS) * 1_000_000_000n;
  const stepNs = BigInt(STEP_S) * 1_000_000_000n;
  // Tempo's alignment: one step before the start.
  const s0 = startNs - stepNs;

  const blocklist = new Blocklist(data.backend, pino({ level: 'silent' }));
  await blocklist.poll();
  const querier = new MetricsQuerier([blocklist]);
  const files = data.metas.map((m) => data.backend.localPath(blockPath(data.tenant, m.blockID, BLOCK_FILES.data))!);
  const src = `read_parquet([${files.map(sqlString).join(', ')}])`;

  console.log(`\n1 h at step ${STEP_S} s, exemplars ${EXEMPLARS}, p50 of ${RUNS} runs, one DuckDB thread (the machine is shared: numbers are noisy)`);
  // rubato first, all cases, so the RSS seen is the querier's alone (DuckDB's reference runs after).
  let rssPeak = 0;
  const ours: { p50: number; last: MetricsAnswer }[] = [];
  for (const c of CASES) {
    const query = parse(c.traceql);
    const ask = (): Promise<MetricsAnswer> => querier.query(data.tenant, { query, range: { startNs, endNs, stepNs, instant: false }, exemplars: EXEMPLARS });
    const [rss, m] = await peakRss(() => measure(ask));
    rssPeak = Math.max(rssPeak, rss);
    ours.push(m);
  }
  for (const [i, c] of CASES.entries()) {
    const mine = ours[i]!;
    const ref = await measure(() => withDuckDB(async (conn) => (await conn.runAndReadAll(c.sql(src, s0, endNs))).getRows()));
    let check = '';
    if (c.total !== null) {
      const refTotal = ref.last.reduce((n, r) => n + Number(r[2]), 0) * (c.traceql.includes('rate()') ? STEP_S : 1);
      const ourTotal = c.total(mine.last);
      check =
        Math.abs(refTotal - ourTotal) < 1e-6 * Math.max(1, refTotal)
          ? `same total (${Math.round(ourTotal)} spans)`
          : `TOTALS DIFFER: rubato ${ourTotal}, duckdb ${refTotal}`;
    }
    console.log(
      `  ${c.traceql.padEnd(72)} rubato ${mine.p50.toFixed(1).padStart(7)} ms (${mine.last.series.length} series, ${mine.last.metrics.inspectedSpans} spans)` +
        `   duckdb ${ref.p50.toFixed(1).padStart(7)} ms (${ref.last.length} rows)   ${(mine.p50 / ref.p50).toFixed(2)}×   ${check}`,
    );
  }
  console.log(`\npeak RSS while rubato answered: ${(rssPeak / 2 ** 20).toFixed(0)} MiB`);
}

await main();
