// The query frontend's merging: search results of several jobs combined by trace ID, and metrics time
// jobs laid side by side giving exactly the series of one evaluation over the whole range (checked
// against the real engine on generated traces), after a round trip through the internal JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsQuerier, type MetricsAnswer } from '../querier/metrics.js';
import { Searcher } from '../querier/search.js';
import { ROOT_SPAN_NOT_YET_RECEIVED, type SearchTrace } from '../querier/search-result.js';
import { alignRange, exemplarsWanted, IntervalMapper, parse, type MetricsRange } from '../traceql/index.js';
import { syntheticTraces } from '../../test/support/synthetic-traces.js';
import { MemoryBlock, sourceOf } from '../../test/support/memory-block.js';
import { emptyIntervalValue, planMetricsJobs, splittableByTime } from './frontend-jobs.js';
import { mergeMetricsParts, mergeSearchTraces, SearchMerger } from './frontend-merge.js';
import {
  metricsAnswerJson,
  metricsAnswerOf,
  readMetricsJob,
  readSearchJob,
  searchJobJson,
  searchResultJson,
  searchResultOf,
  metricsJobJson,
} from './querier-wire.js';

const SEC = 1_000_000_000n;
const T0 = 1_767_225_600n * SEC;
// 900 traces 100 ms apart: 90 seconds of spans.
const traces = syntheticTraces({ traces: 900, spansPerTrace: 5, seed: 7, startNs: T0 });

/** Series as comparable rows: labels and every value (NaN written out). */
function rows(a: MetricsAnswer): string[] {
  return a.series.map((s) => `${JSON.stringify(s.labels)} ${s.values.map((v) => (Number.isNaN(v) ? 'NaN' : v.toPrecision(12))).join(',')}`).sort();
}

test('metrics time jobs laid side by side equal one evaluation over the whole range', async () => {
  const querier = new MetricsQuerier([sourceOf(new MemoryBlock(traces, { id: 'b' }))]);
  // 21 intervals in jobs of 4: the last job is a single interval.
  const range: MetricsRange = { startNs: T0 + 3n * SEC, endNs: T0 + 100n * SEC, stepNs: 5n * SEC, instant: false };
  const queries = [
    '{} | rate()',
    '{} | count_over_time() by (resource.service.name)',
    '{ span.http.status_code >= 400 } | rate() by (span.http.route)',
    '{} | avg_over_time(duration) by (resource.service.name)',
    '{} | max_over_time(duration)',
    '{} | min_over_time(duration) by (span.http.route)',
    '{} | sum_over_time(duration)',
    '{} | quantile_over_time(duration, .5, .99) by (resource.service.name)',
    '{} | histogram_over_time(duration)',
  ];
  for (const text of queries) {
    const query = parse(text);
    assert.ok(splittableByTime(query), text);
    const whole = await querier.query('t', { query, range, exemplars: 0 });
    const jobs = planMetricsJobs(range, 20n * SEC, true);
    assert.ok(jobs.length >= 4, `${text}: split into ${jobs.length} jobs`);
    assert.equal(jobs.at(-1)!.alignedEndNs - jobs.at(-1)!.alignedStartNs, range.stepNs, 'the last job is one interval');
    const parts = [];
    for (const j of jobs) {
      const sources = readMetricsJob(JSON.parse(JSON.stringify(metricsJobJson({ query, range: j.range, exemplars: 0, maxSeries: 0, sources: 'all' }))));
      const answer = await querier.query('t', { query: sources.query, range: sources.range, exemplars: 0 });
      // Over the wire and back, as the frontend receives it.
      parts.push({ offset: j.offset, answer: metricsAnswerOf(JSON.parse(JSON.stringify(metricsAnswerJson(answer)))) });
    }
    const mapper = new IntervalMapper(alignRange(range));
    const merged = mergeMetricsParts(parts.reverse(), {
      timestampsMs: Array.from({ length: mapper.count }, (_, i) => mapper.timestampMs(i)),
      emptyValue: emptyIntervalValue(query),
      exemplarsPerSeries: exemplarsWanted(query, 0),
      maxSeries: 0,
    });
    assert.deepEqual(merged.timestampsMs, whole.timestampsMs, `${text}: sample times`);
    assert.deepEqual(rows(merged), rows(whole), `${text}: series`);
    assert.equal(
      merged.metrics.inspectedSpans,
      parts.reduce((n, p) => n + p.answer.metrics.inspectedSpans, 0),
    );
  }
});

test('metrics merge: exemplars spread and cut to the limit; more series than max_response_series is a partial answer', async () => {
  const querier = new MetricsQuerier([sourceOf(new MemoryBlock(traces, { id: 'b' }))]);
  const range: MetricsRange = { startNs: T0 + 3n * SEC, endNs: T0 + 95n * SEC, stepNs: 5n * SEC, instant: false };
  const query = parse('{} | count_over_time() by (span.http.route)');
  const jobs = planMetricsJobs(range, 20n * SEC, true);
  const parts = await Promise.all(jobs.map(async (j) => ({ offset: j.offset, answer: await querier.query('t', { query, range: j.range, exemplars: 4 }) })));
  const mapper = new IntervalMapper(alignRange(range));
  const timestampsMs = Array.from({ length: mapper.count }, (_, i) => mapper.timestampMs(i));
  const merged = mergeMetricsParts(parts, { timestampsMs, emptyValue: 0, exemplarsPerSeries: 4, maxSeries: 0 });
  assert.ok(merged.series.length > 2);
  for (const s of merged.series) assert.ok(s.exemplars.length <= 4 && s.exemplars.length > 0);
  assert.equal(merged.partial, undefined);
  const cut = mergeMetricsParts(parts, { timestampsMs, emptyValue: 0, exemplarsPerSeries: 4, maxSeries: 2 });
  assert.equal(cut.series.length, 2);
  assert.match(cut.partial ?? '', /maximum series limit of 2/);
});

const span = (spanId: string, startUnixNano: bigint) => ({ spanId, name: 'op', startUnixNano, durationNano: 1_000_000n, attributes: [] });

test('one trace found by two jobs is combined: spans by ID, counts, earliest start, latest end, the root from the side that has it', () => {
  const partA: SearchTrace = {
    traceId: 'ab'.repeat(16),
    rootServiceName: ROOT_SPAN_NOT_YET_RECEIVED,
    rootTraceName: '',
    startUnixNano: 2_000_000_000n,
    durationMs: 500,
    spanSets: [{ matched: 2, attributes: [], spans: [span('a1', 2_000_000_000n), span('a2', 2_100_000_000n)] }],
    serviceStats: new Map([['cart', { spanCount: 2, errorCount: 0 }]]),
  };
  const partB: SearchTrace = {
    traceId: 'ab'.repeat(16),
    rootServiceName: 'frontend',
    rootTraceName: 'GET /',
    startUnixNano: 1_000_000_000n,
    durationMs: 300,
    spanSets: [{ matched: 1, attributes: [], spans: [span('b1', 1_000_000_000n)] }],
    serviceStats: new Map([['frontend', { spanCount: 1, errorCount: 1 }]]),
  };
  const m = mergeSearchTraces(partA, partB, 3);
  assert.equal(m.rootServiceName, 'frontend');
  assert.equal(m.rootTraceName, 'GET /');
  assert.equal(m.startUnixNano, 1_000_000_000n);
  assert.equal(m.durationMs, 1_500, 'from the earliest start to the latest end');
  assert.equal(m.spanSets.length, 1);
  assert.equal(m.spanSets[0]!.matched, 3);
  assert.deepEqual(
    m.spanSets[0]!.spans.map((s) => s.spanId),
    ['b1', 'a1', 'a2'],
  );
  assert.deepEqual([...m.serviceStats.keys()].sort(), ['cart', 'frontend']);
  // The same part twice (an ingester and the block it just flushed): nothing doubles.
  const again = mergeSearchTraces(partA, partA, 3);
  assert.equal(again.spanSets[0]!.matched, 2);
  assert.equal(again.spanSets[0]!.spans.length, 2);
  assert.equal(again.durationMs, 500);
  assert.deepEqual(again.serviceStats.get('cart'), { spanCount: 2, errorCount: 0 });
  // At most spss spans shown.
  assert.equal(mergeSearchTraces(partA, partB, 2).spanSets[0]!.spans.length, 2);
});

test('search jobs over parts of the blocks, merged, find what one search over all of them finds', async () => {
  const blocks = [0, 1, 2, 3].map((i) => new MemoryBlock(traces.slice(i * 200, i * 200 + 250), { id: `b${i}` }));
  const query = parse('{ resource.service.name = "cart" }');
  const req = { query, limit: 10_000, spss: 3 };
  const whole = await new Searcher([sourceOf(...blocks)]).search('t', req);
  const merger = new SearchMerger(req.limit, req.spss, 0);
  for (const b of blocks) {
    const job = readSearchJob(JSON.parse(JSON.stringify(searchJobJson({ ...req, maxResultBytes: 0, source: { kind: 'blocks', blockIds: [b.info.id] } }))));
    assert.deepEqual(job.source, { kind: 'blocks', blockIds: [b.info.id] });
    const r = await new Searcher([sourceOf(b)]).search('t', { ...req, query: job.query });
    merger.add(searchResultOf(JSON.parse(JSON.stringify(searchResultJson(r)))));
  }
  const merged = merger.answer();
  assert.ok(whole.traces.length > 20);
  assert.deepEqual(
    merged.traces.map((t) => t.traceId),
    whole.traces.map((t) => t.traceId),
  );
  // Traces in two blocks (the overlaps of 50) are not doubled, nor are their spans.
  for (const [i, t] of merged.traces.entries()) {
    assert.equal(t.spanSets[0]!.matched, whole.traces[i]!.spanSets[0]!.matched, t.traceId);
    assert.equal(t.durationMs, whole.traces[i]!.durationMs);
  }
  // Cut to the limit, newest first.
  const few = new SearchMerger(5, 3, 0);
  few.add(merged);
  assert.ok(few.enough(false));
  assert.ok(!few.enough(true), 'with most_recent every job runs');
  assert.deepEqual(
    few.answer().traces.map((t) => t.traceId),
    merged.traces.slice(0, 5).map((t) => t.traceId),
  );
});

test('internal requests that do not hold together are refused with the field named', () => {
  assert.throws(() => readSearchJob({}), /search job: source.*JSON object|want a JSON object/);
  assert.throws(
    () => readSearchJob({ query: { kind: 'spansetQuery', hints: [] }, limit: 0, spss: 3, maxResultBytes: 0, source: { kind: 'recent' } }),
    /limit must be an integer >= 1/,
  );
  assert.throws(
    () => readSearchJob({ query: { kind: 'metricsQuery', hints: [] }, limit: 5, spss: 3, maxResultBytes: 0, source: { kind: 'recent' } }),
    /query must be a parsed TraceQL query of kind spansetQuery/,
  );
  assert.throws(
    () => readSearchJob({ query: { kind: 'spansetQuery', hints: [] }, limit: 5, spss: 3, maxResultBytes: 0, source: { kind: 'blocks', blockIds: [1] } }),
    /blockIds must be a list of strings/,
  );
  assert.throws(
    () =>
      readMetricsJob({
        query: { kind: 'metricsQuery', hints: [] },
        range: { startNs: '10', endNs: '9', stepNs: '1', instant: false },
        exemplars: 0,
        maxSeries: 0,
        sources: 'all',
      }),
    /endNs must not be before/,
  );
  assert.throws(
    () =>
      readMetricsJob({
        query: { kind: 'metricsQuery', hints: [] },
        range: { startNs: 'x', endNs: '5', stepNs: '1', instant: false },
        exemplars: 0,
        maxSeries: 0,
        sources: 'all',
      }),
    /range: startNs must be an integer as a decimal string/,
  );
});
