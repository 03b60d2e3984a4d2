// Query hints Tempo accepts (`with(sample=…)`, `exemplars`, the sampling and debug hints) and the
// point limit (query_frontend.metrics.max_intervals): sampling is a performance hint, and rubato
// answers it exactly; unknown hints are ignored as Tempo ignores them; too many points is a 400.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalBackend } from '../backend/local.js';
import type { BlockSource } from '../block/block.js';
import { ParquetBlock } from '../block/parquet-block.js';
import { writeBlock } from '../block/writer.js';
import { syntheticTraces } from '../../test/support/synthetic-traces.js';
import { parse, type MetricsSeries } from '../traceql/index.js';
import { MetricsQuerier } from './metrics.js';
import { loadConfig } from '../config/load.js';
import { parseQueryRangeParams } from '../api/metrics-params.js';
import { BadRequest } from '../api/search-params.js';

const SEC = 1_000_000_000n;
const START = 1_767_225_600_000_000_000n;
let root: string;
let block: ParquetBlock;
let sources: BlockSource[];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rubato-metrics-hints-'));
  const backend = createLocalBackend(root);
  const meta = await writeBlock(backend, 't', syntheticTraces({ traces: 200, spansPerTrace: 5, seed: 3, startNs: START }));
  block = await ParquetBlock.open(backend, meta);
  sources = [{ blocks: async () => [block] }];
});
after(async () => {
  await block.close();
  await rm(root, { recursive: true, force: true });
});

async function answer(q: string, exemplars = 0): Promise<MetricsSeries[]> {
  const range = { startNs: START, endNs: START + 4n * SEC, stepNs: SEC, instant: false };
  return (await new MetricsQuerier(sources).query('t', { query: parse(q), range, exemplars })).series;
}

const values = (series: MetricsSeries[]): string => JSON.stringify(series.map((s) => [s.labels, s.values.map((v) => (Number.isNaN(v) ? 'NaN' : v))]).sort());

const BASE = '{ } | count_over_time() by (resource.service.name)';
const HINTS = [
  'sample=true',
  'sample=false',
  'sample=0.1',
  'sample=1',
  'trace_sample=0.5',
  'span_sample=0.25, sample=true',
  'exemplars=false',
  'exemplars=true',
  'exemplars=3',
  'most_recent=true',
  // Tempo ignores hints it does not know, of any literal type, and unsafe ones unless allowed.
  'job_size=10s',
  'concurrent_blocks=2',
  'time_overlap_cutoff=0.5',
  'debug=true',
  'no_such_hint="x", another=-3',
];

for (const h of HINTS) {
  test(`with(${h}) parses and the answer is the exact one`, async () => {
    const exact = await answer(BASE);
    assert.ok(exact.length > 0);
    assert.equal(values(await answer(`${BASE} with(${h})`)), values(exact));
  });
}

test('with(exemplars=…) sets or turns off exemplars, as in Tempo', async () => {
  const q = '{ } | rate() by (resource.service.name)';
  assert.ok((await answer(q, 10)).some((s) => s.exemplars.length > 0));
  assert.ok((await answer(`${q} with(exemplars=false)`, 10)).every((s) => s.exemplars.length === 0));
  assert.ok((await answer(`${q} with(exemplars=0)`, 10)).every((s) => s.exemplars.length === 0));
  assert.ok((await answer(`${q} with(exemplars=1)`, 0)).some((s) => s.exemplars.length > 0));
});

test('sampling hints on the examples Tempo lists parse for every metrics shape', () => {
  for (const q of [
    '{} | count_over_time() by (name) | topk(10) with(sample=0.1)',
    '{} | rate() by (span.client_ip) > 10 with(sample=0.1)',
    '{} | quantile_over_time(duration, .5, .99) with(sample=true, exemplars=5)',
    '{ status = error } | histogram_over_time(duration) with(span_sample=0.1)',
  ]) {
    assert.equal(parse(q).kind, 'metricsQuery', q);
  }
});

test('query_frontend.metrics.max_intervals is read from the config and bounds the points of a query_range', async () => {
  const file = join(root, 'tempo.yaml');
  await writeFile(file, 'query_frontend:\n  metrics:\n    max_intervals: 100\n');
  const { config, warnings } = loadConfig([`-config.file=${file}`], {});
  assert.equal(config.query_frontend.metrics.max_intervals, 100);
  assert.ok(!warnings.some((w) => w.includes('max_intervals')), 'wired, not reported as ignored');
  assert.equal(loadConfig([], {}).config.query_frontend.metrics.max_intervals, 10_000);
  const limits = { maxDurationMs: 0, maxExemplars: 100, maxIntervals: config.query_frontend.metrics.max_intervals, maxResponseSeries: 0 };
  // 100 points is allowed, 101 is not.
  assert.equal(parseQueryRangeParams({ q: '{ } | rate()', start: '1000', end: '1100', step: '1s' }, limits).range.stepNs, SEC);
  assert.throws(
    () => parseQueryRangeParams({ q: '{ } | rate()', start: '1000', end: '1101', step: '1s' }, limits),
    (e: unknown) => e instanceof BadRequest && /step of 1s is too small, minimum step for given range is 1\.01s/.test(e.message),
  );
  // 0 turns the check off, as in Tempo.
  assert.ok(parseQueryRangeParams({ q: '{ } | rate()', start: '0', end: '86400', step: '1s' }, { ...limits, maxIntervals: 0 }));
});
