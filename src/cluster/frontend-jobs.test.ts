// The query frontend's job plans: which blocks a search job reads and when recent data is asked,
// and how a metrics range is cut into step-aligned time jobs that cover it exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alignRange, parse, type MetricsRange } from '../traceql/index.js';
import { planMetricsJobs, planSearchJobs, splittableByTime, type BlockRef, type SearchJob } from './frontend-jobs.js';

const MIN = 60_000;
const now = 1_767_225_600_000;
const block = (id: string, startAgoMin: number, endAgoMin: number, bytes: number): BlockRef => ({
  id,
  startMs: now - startAgoMin * MIN,
  endMs: now - endAgoMin * MIN,
  bytes,
});
const settings = { targetBytesPerJob: 100, queryBackendAfterMs: 15 * MIN, queryIngestersUntilMs: 30 * MIN };
const ids = (jobs: SearchJob[]): (string | string[])[] => jobs.map((j) => (j.kind === 'recent' ? 'recent' : [...j.blockIds]));

const blocks = [
  block('old', 300, 240, 80),
  block('b1', 120, 90, 60),
  block('b2', 90, 60, 60),
  block('b3', 60, 40, 30),
  block('fresh', 12, 5, 50), // flushed within query_backend_after: its data is asked of the ingesters
];

test('search jobs: recent data plus groups of about target_bytes_per_job, newest first', () => {
  const jobs = planSearchJobs(blocks, { startMs: now - 3 * 60 * MIN, endMs: now }, now, settings);
  // b3 (30) + b2 (60) reach 100 bytes... not quite (90): b1 joins them; 'fresh' is too recent, 'old' too old.
  assert.deepEqual(ids(jobs), ['recent', ['b3', 'b2', 'b1']]);
  const small = planSearchJobs(blocks, { startMs: now - 3 * 60 * MIN, endMs: now }, now, { ...settings, targetBytesPerJob: 50 });
  assert.deepEqual(ids(small), ['recent', ['b3', 'b2'], ['b1']]);
  const perBlock = planSearchJobs(blocks, { startMs: now - 6 * 60 * MIN, endMs: now }, now, { ...settings, targetBytesPerJob: 0 });
  assert.deepEqual(ids(perBlock), ['recent', ['b3'], ['b2'], ['b1'], ['old']]);
});

test('search jobs: recent data only when the range reaches into query_ingesters_until; blocks only older than query_backend_after', () => {
  const old = planSearchJobs(blocks, { startMs: now - 5 * 60 * MIN, endMs: now - 100 * MIN }, now, settings);
  assert.deepEqual(ids(old), [['b1', 'old']]);
  const recentOnly = planSearchJobs(blocks, { startMs: now - 10 * MIN, endMs: now }, now, settings);
  assert.deepEqual(ids(recentOnly), ['recent']);
  // query_backend_after 0: every block in range is read, the fresh one too (and the ingesters: merged by trace ID).
  const all = planSearchJobs(blocks, { startMs: now - 20 * MIN, endMs: now }, now, { ...settings, queryBackendAfterMs: 0 });
  assert.deepEqual(ids(all), ['recent', ['fresh']]);
});

test('search jobs: query_backend_after larger than query_ingesters_until leaves no stretch of time unread', () => {
  // Data 20 minutes old is past the ingesters' 10 minutes: the blocks must be read for it.
  const jobs = planSearchJobs([block('x', 25, 18, 10)], { startMs: now - 30 * MIN, endMs: now }, now, {
    ...settings,
    queryBackendAfterMs: 60 * MIN,
    queryIngestersUntilMs: 10 * MIN,
  });
  assert.deepEqual(ids(jobs), ['recent', ['x']]);
});

test('search jobs: without a time range every block and the recent data, as in one process', () => {
  assert.deepEqual(ids(planSearchJobs(blocks, {}, now, { ...settings, targetBytesPerJob: 1000 })), ['recent', ['fresh', 'b3', 'b2', 'b1', 'old']]);
});

const SEC = 1_000_000_000n;
const q = (s: string) => parse(s);

test('metrics jobs: step-aligned sub-ranges that re-align to consecutive pieces of the whole', () => {
  const range: MetricsRange = {
    startNs: 1_767_225_600n * SEC + 7n * SEC,
    endNs: 1_767_225_600n * SEC + 3_600n * SEC + 3n * SEC,
    stepNs: 60n * SEC,
    instant: false,
  };
  const whole = alignRange(range);
  const jobs = planMetricsJobs(range, 600n * SEC, true);
  const intervals = Number((whole.endNs - whole.startNs) / range.stepNs);
  assert.equal(jobs.length, Math.ceil(intervals / 10));
  let at = whole.startNs;
  let offset = 0;
  for (const j of jobs) {
    const a = alignRange(j.range);
    assert.equal(a.startNs, at, 'each job starts where the last ended');
    assert.equal(j.offset, offset);
    assert.equal(a.startNs, j.alignedStartNs);
    assert.equal(a.endNs, j.alignedEndNs);
    offset += Number((a.endNs - a.startNs) / range.stepNs);
    at = a.endNs;
  }
  assert.equal(at, whole.endNs, 'the jobs cover the whole range');
  assert.equal(offset, intervals);
});

test('metrics jobs: one job when the query looks across intervals, is instant, or fits in one interval', () => {
  const range: MetricsRange = { startNs: 1_767_225_600n * SEC, endNs: 1_767_225_600n * SEC + 3_600n * SEC, stepNs: 60n * SEC, instant: false };
  for (const s of ['{} | rate() | topk(3)', '{} | compare({status=error})', '({} | rate()) / ({} | count_over_time())', '{} | rate() > 2']) {
    assert.equal(splittableByTime(q(s)), false, s);
  }
  for (const s of ['{} | rate() by (resource.service.name)', '{} | quantile_over_time(duration, .5, .9)', '{} | avg_over_time(duration)']) {
    assert.equal(splittableByTime(q(s)), true, s);
  }
  assert.equal(planMetricsJobs(range, 600n * SEC, false).length, 1);
  assert.equal(planMetricsJobs({ ...range, instant: true }, 600n * SEC, true).length, 1);
  assert.equal(planMetricsJobs(range, 7_200n * SEC, true).length, 1);
  const one = planMetricsJobs(range, 7_200n * SEC, true)[0]!;
  assert.deepEqual(one.range, range, 'a single job asks for the range as given');
});
