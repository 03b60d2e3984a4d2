// Oracle test of TraceQL metrics: on a generated data set, every function's answer from a stored
// block, from recent data and from both (overlapping: spans in both count once) equals a plain
// computation over the same spans; counts exactly, quantiles within their log2 bucket.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalBackend } from '../backend/local.js';
import type { Block, BlockSource } from '../block/block.js';
import { ParquetBlock } from '../block/parquet-block.js';
import { syntheticTraces } from '../../test/support/synthetic-traces.js';
import { MemoryBlock, sourceOf } from '../../test/support/memory-block.js';
import { writeBlock } from '../block/writer.js';
import type { TraceRecord } from '../model/trace-record.js';
import { decodeTrace } from '../otlp/trace-decode.js';
import { decodeExportRequest } from '../otlp/decode-request.js';
import { encodeTrace } from '../otlp/trace-encode.js';
import { buildEvalTrace, log2Bucketize, parse, type EvalSpan, type EvalTrace, type MetricsSeries, type SeriesLabel } from '../traceql/index.js';
import { MetricsQuerier } from './metrics.js';

/** Recent data as the ingester's head blocks give it: every trace handed over, no pre-filter. */
const recentBlock = (recs: TraceRecord[]): MemoryBlock => new MemoryBlock(recs, { id: 'recent-t', spansAlsoElsewhere: true });

const SEC = 1_000_000_000n;
let root: string;
let traces: TraceRecord[];
let stored: Block;
let recentAll: Block;
let recentSome: Block;
let spans: { s: EvalSpan; t: EvalTrace }[];
let startNs: bigint;
let endNs: bigint;
const stepNs = SEC;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rubato-metrics-test-'));
  const backend = createLocalBackend(root);
  // 600 traces 10 ms apart: six seconds of spans, six one-second intervals.
  traces = syntheticTraces({ traces: 600, spansPerTrace: 6, seed: 11, startNs: 1_767_225_600_000_000_000n });
  const meta = await writeBlock(backend, 't', traces, { rowGroupRows: 512 });
  stored = await ParquetBlock.open(backend, meta);
  recentAll = recentBlock(traces);
  // A third of the traces also in recent data (a head block being flushed).
  recentSome = recentBlock(traces.filter((_, i) => i % 3 === 0));
  spans = traces.flatMap((rec) => {
    const t = buildEvalTrace(decodeTrace(rec.trace));
    return t.spans.map((s) => ({ s, t }));
  });
  const first = spans.reduce((m, x) => (x.s.startUnixNano < m ? x.s.startUnixNano : m), spans[0]!.s.startUnixNano);
  const last = spans.reduce((m, x) => (x.s.startUnixNano > m ? x.s.startUnixNano : m), 0n);
  startNs = (first / SEC) * SEC;
  endNs = (last / SEC + 1n) * SEC;
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function run(q: string, sources: BlockSource[], instant = false, exemplars = 0): Promise<{ series: MetricsSeries[]; ts: readonly number[] }> {
  const range = instant ? { startNs, endNs, stepNs: endNs - startNs, instant } : { startNs, endNs, stepNs, instant };
  const r = await new MetricsQuerier(sources).query('t', { query: parse(q), range, exemplars });
  return { series: r.series, ts: r.timestampsMs };
}

function labelKey(labels: readonly SeriesLabel[]): string {
  return labels.map((l) => `${l.name}=${'value' in l.value ? String(l.value.value) : l.value.type}`).join(',');
}

/** Interval of a span in the aligned range (start one step earlier; intervals right-closed). */
function intervalOf(ts: bigint): number {
  const s0 = startNs - stepNs;
  if (ts <= s0 || ts > endNs) return -1;
  const off = ts - s0;
  let i = off / stepNs;
  if (i * stepNs === off) i--;
  return Number(i);
}
const intervals = (): number => Number((endNs - (startNs - stepNs)) / stepNs);

function oracle(
  select: (s: EvalSpan, t: EvalTrace) => boolean,
  group: (s: EvalSpan) => string,
  fold: (vals: number[]) => number,
  value: (s: EvalSpan) => number = () => 1,
): Map<string, number[]> {
  const raw = new Map<string, number[][]>();
  for (const { s, t } of spans) {
    if (!select(s, t)) continue;
    const i = intervalOf(s.startUnixNano);
    if (i < 0) continue;
    const g = group(s);
    let per = raw.get(g);
    if (per === undefined) raw.set(g, (per = Array.from({ length: intervals() }, () => [])));
    per[i]!.push(value(s));
  }
  return new Map([...raw].map(([g, per]) => [g, per.map((vs) => (vs.length === 0 ? NaN : fold(vs)))]));
}

function asMap(series: MetricsSeries[], drop: string[] = []): Map<string, number[]> {
  return new Map(series.map((s) => [labelKey(s.labels.filter((l) => !drop.includes(l.name))), s.values]));
}

const service = (s: EvalSpan): string => `resource.service.name=${String(s.attr('resource', 'service.name'))}`;
const sum = (vs: number[]): number => vs.reduce((a, b) => a + b, 0);
const durSec = (s: EvalSpan): number => Number(s.durationNano) / 1e9;

function assertClose(actual: Map<string, number[]>, expected: Map<string, number[]>, what: string, zeroForEmpty = false): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${what}: series`);
  for (const [k, exp] of expected) {
    const act = actual.get(k)!;
    exp.forEach((e, i) => {
      const a = act[i]!;
      const want = Number.isNaN(e) && zeroForEmpty ? 0 : e;
      if (Number.isNaN(want)) assert.ok(Number.isNaN(a), `${what} ${k}[${i}]: want no sample, got ${a}`);
      else assert.ok(Math.abs(a - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${what} ${k}[${i}]: want ${want}, got ${a}`);
    });
  }
}

/** The stored block without its own aggregation: the querier evaluates its traces. */
function tracesOnly(b: Block): Block {
  return {
    info: b.info,
    findTrace: (id, signal) => b.findTrace(id, signal),
    search: (f, o) => b.search(f, o),
    tagNames: (s, q) => b.tagNames(s, q),
    tagValues: (t, q) => b.tagValues(t, q),
    traces: (signal) => b.traces(signal),
  };
}

/** The same answer from the stored block (aggregating itself, and evaluated trace by trace), from recent data, and from both with overlap. */
async function eachSource(q: string, check: (series: MetricsSeries[], from: string) => void): Promise<void> {
  let pushed = 0;
  const spy: Block = Object.assign(tracesOnly(stored), {
    metricsGroups: async (...a: Parameters<NonNullable<Block['metricsGroups']>>) => {
      const g = await stored.metricsGroups!(...a);
      if (g !== null) pushed++;
      return g;
    },
  });
  check((await run(q, [sourceOf(spy)])).series, 'block (aggregated in SQL)');
  assert.equal(pushed, 1, `${q}: aggregated by the block`);
  check((await run(q, [sourceOf(tracesOnly(stored))])).series, 'block (traces evaluated)');
  check((await run(q, [sourceOf(recentAll)])).series, 'recent');
  check((await run(q, [sourceOf(recentSome), sourceOf(stored)])).series, 'recent+block');
  check((await run(q, [sourceOf(recentSome), sourceOf(tracesOnly(stored))])).series, 'recent+block (traces evaluated)');
}

test('count_over_time and rate by a resource attribute: exact, from blocks, recent data and both', async () => {
  const counts = oracle(
    () => true,
    service,
    (vs) => vs.length,
  );
  await eachSource('{ } | count_over_time() by (resource.service.name)', (series, from) => assertClose(asMap(series), counts, `count ${from}`, true));
  const errors = oracle(
    (s) => s.statusCode === 2,
    () => '__name__=rate',
    (vs) => vs.length,
  );
  await eachSource('{ status = error } | rate()', (series, from) => assertClose(asMap(series), errors, `rate ${from}`, true));
});

test('sum, min, max and avg over time of duration (seconds) by a span attribute', async () => {
  const sel = (s: EvalSpan): boolean => s.attr('span', 'http.route') === '/checkout';
  const method = (s: EvalSpan): string => `span.http.method=${String(s.attr('span', 'http.method'))}`;
  const cases: [string, (vs: number[]) => number][] = [
    ['sum_over_time', sum],
    ['min_over_time', (vs) => Math.min(...vs)],
    ['max_over_time', (vs) => Math.max(...vs)],
    ['avg_over_time', (vs) => sum(vs) / vs.length],
  ];
  for (const [fn, fold] of cases) {
    const want = oracle(sel, method, fold, durSec);
    await eachSource(`{ span.http.route = "/checkout" } | ${fn}(duration) by (span.http.method)`, (series, from) =>
      assertClose(asMap(series), want, `${fn} ${from}`),
    );
  }
});

test('histogram_over_time counts spans per log2 bucket exactly', async () => {
  const want = oracle(
    () => true,
    (s) => `__bucket=${log2Bucketize(Number(s.durationNano)) / 1e9}`,
    (vs) => vs.length,
  );
  await eachSource('{ } | histogram_over_time(duration)', (series, from) => assertClose(asMap(series), want, `histogram ${from}`, true));
});

test('quantile_over_time is within the log2 bucket of the true quantile', async () => {
  const groups = new Map<string, number[][]>();
  for (const { s } of spans) {
    const i = intervalOf(s.startUnixNano);
    if (i < 0) continue;
    const g = service(s);
    let per = groups.get(g);
    if (per === undefined) groups.set(g, (per = Array.from({ length: intervals() }, () => [])));
    per[i]!.push(Number(s.durationNano));
  }
  await eachSource('{ } | quantile_over_time(duration, .5, .99) by (resource.service.name)', (series, from) => {
    assert.equal(series.length, groups.size * 2, `${from}: one series per group and quantile`);
    for (const s of series) {
      const p = s.labels.find((l) => l.name === 'p')!;
      const q = (p.value as { value: number }).value;
      const per = groups.get(labelKey(s.labels.filter((l) => l.name !== 'p')))!;
      for (const [i, durs] of per.entries()) {
        const got = s.values[i]!;
        if (durs.length === 0) {
          assert.equal(got, 0);
          continue;
        }
        const sorted = [...durs].sort((a, b) => a - b);
        const rank = Math.max(1, Math.ceil(q * sorted.length));
        const trueQ = sorted[rank - 1]!;
        const hi = log2Bucketize(trueQ) / 1e9;
        const below = sorted.map((d) => log2Bucketize(d) / 1e9).filter((b) => b < hi);
        const lo = below.length > 0 ? Math.max(...below) : hi / 2;
        assert.ok(got <= hi * (1 + 1e-12) && got >= lo * (1 - 1e-12), `${from} p${q}[${i}]: ${got} outside (${lo}, ${hi}] (true ${trueQ / 1e9})`);
      }
    }
  });
});

test('instant query: one value per series over the whole range', async () => {
  const counts = new Map<string, number>();
  for (const { s } of spans) {
    if (s.startUnixNano <= startNs || s.startUnixNano > endNs) continue;
    counts.set(service(s), (counts.get(service(s)) ?? 0) + 1);
  }
  const r = await run('{ } | count_over_time() by (resource.service.name)', [sourceOf(recentSome), sourceOf(stored)], true);
  assert.deepEqual(new Map(r.series.map((s) => [labelKey(s.labels), s.values])), new Map([...counts].map(([k, v]) => [k, [v]])));
});

test('exemplars point at real traces and spans, at most N per series', async () => {
  const r = await run('{ } | quantile_over_time(duration, .9) by (resource.service.name)', [sourceOf(stored)], false, 6);
  const ids = new Set(spans.map((x) => `${x.t.traceId}/${x.s.spanId}`));
  let n = 0;
  for (const s of r.series) {
    assert.ok(s.exemplars.length <= 6);
    for (const e of s.exemplars) {
      const tid = e.labels.find((l) => l.name === 'trace:id')!.value as { value: string };
      const sid = e.labels.find((l) => l.name === 'span:id')!.value as { value: string };
      assert.ok(ids.has(`${tid.value}/${sid.value}`), 'exemplar of a stored span');
      n++;
    }
  }
  assert.ok(n > 0, 'some exemplars');
});

test('second stages: topk, bottomk, comparisons and arithmetic', async () => {
  const base = await run('{ } | count_over_time() by (resource.service.name)', [sourceOf(stored)]);
  const top = await run('{ } | count_over_time() by (resource.service.name) | topk(2)', [sourceOf(stored)]);
  for (let i = 0; i < base.ts.length; i++) {
    const vals = base.series.map((s) => s.values[i]!).sort((a, b) => b - a);
    const kept = top.series
      .map((s) => s.values[i]!)
      .filter((v) => !Number.isNaN(v))
      .sort((a, b) => b - a);
    assert.deepEqual(kept, vals.slice(0, 2), `topk at ${i}`);
  }
  const gt = await run('{ } | count_over_time() by (resource.service.name) > 100', [sourceOf(stored)]);
  for (const s of gt.series) for (const v of s.values) assert.ok(Number.isNaN(v) || v > 100);
  const all = await run('{ } | count_over_time()', [sourceOf(stored)]);
  const doubled = await run('({ } | count_over_time()) * 2', [sourceOf(stored)]);
  assert.deepEqual(
    doubled.series[0]!.values,
    all.series[0]!.values.map((v) => v * 2),
  );
  const ratio = await run('({ status = error } | count_over_time()) / ({ } | count_over_time())', [sourceOf(stored)]);
  assert.equal(ratio.series.length, 1);
});

test('the series limit cuts the answer and marks it partial', async () => {
  const range = { startNs, endNs, stepNs, instant: false };
  const query = parse('{ } | count_over_time() by (resource.service.name)');
  const whole = await new MetricsQuerier([sourceOf(stored)]).query('t', { query, range, exemplars: 0 });
  assert.ok(whole.series.length > 2);
  assert.equal(whole.partial, undefined);
  const cut = await new MetricsQuerier([sourceOf(tracesOnly(stored))]).query('t', { query, range, exemplars: 0, maxSeries: 2 });
  assert.equal(cut.series.length, 2);
  assert.match(cut.partial ?? '', /maximum series limit of 2/);
});

test('compare() splits every attribute value between the selection and the baseline', async () => {
  const r = await run('{ } | compare({ status = error })', [sourceOf(stored)]);
  const find = (meta: string, name: string, value?: string): MetricsSeries | undefined =>
    r.series.find(
      (s) =>
        s.labels[0]?.name === '__meta_type' &&
        (s.labels[0].value as { value: string }).value === meta &&
        s.labels[1]?.name === name &&
        (value === undefined ? s.labels[1].value.type === 'nil' : (s.labels[1].value as { value: string }).value === value),
    );
  const errors = oracle(
    (s) => s.statusCode === 2,
    () => 'x',
    (vs) => vs.length,
  ).get('x')!;
  const others = oracle(
    (s) => s.statusCode !== 2,
    () => 'x',
    (vs) => vs.length,
  ).get('x')!;
  const zero = (xs: number[]): number[] => xs.map((v) => (Number.isNaN(v) ? 0 : v));
  assert.deepEqual(find('selection_total', 'name')!.values, zero(errors));
  assert.deepEqual(find('baseline_total', 'name')!.values, zero(others));
  assert.deepEqual(find('selection', 'status', 'error')!.values, zero(errors));
  assert.ok(find('baseline', 'resource.service.name', 'frontend') !== undefined || find('baseline', 'resource.service.name', 'checkout') !== undefined);
});

test('blocks that repeat each other (replicas flushed by several ingesters) count each span once', async () => {
  const counts = oracle(
    () => true,
    service,
    (vs) => vs.length,
  );
  const replica = (): Block => ({ ...tracesOnly(stored), info: { ...stored.info, spansAlsoElsewhere: true } });
  const q = '{ } | count_over_time() by (resource.service.name)';
  assertClose(asMap((await run(q, [sourceOf(replica(), replica())])).series), counts, 'two replicas', true);
  assertClose(
    asMap((await run(q, [sourceOf(recentSome, replica(), replica()), sourceOf(stored)])).series),
    counts,
    'recent, replicas and a compacted copy',
    true,
  );
});

test('a replica copy like one already counted is skipped undecoded; a partial copy is still counted span by span', async () => {
  const counts = oracle(
    () => true,
    service,
    (vs) => vs.length,
  );
  // An ingester that was down for part of the writes: every trace without its first span.
  const partial = traces.map((rec) => ({ traceId: rec.traceId, trace: encodeTrace(decodeExportRequest(rec.trace, 't').spans.slice(1)) }));
  const replica = (recs: TraceRecord[]): MemoryBlock => new MemoryBlock(recs, { id: 'replica', spansAlsoElsewhere: true });
  const q = '{ } | count_over_time() by (resource.service.name)';
  const range = { startNs, endNs, stepNs, instant: false };
  const r = await new MetricsQuerier([sourceOf(replica(traces), replica(partial), replica(traces))]).query('t', { query: parse(q), range, exemplars: 0 });
  assertClose(asMap(r.series), counts, 'full, partial and full replicas', true);
  const whole = traces.reduce((n, rec) => n + decodeExportRequest(rec.trace, 't').spans.length, 0);
  assert.equal(r.metrics.inspectedSpans, whole + (whole - traces.length), 'the second full copy was not decoded');
  assert.equal(r.metrics.inspectedTraces, 3 * traces.length);
});

test('a busy ingester (more recent spans than a block can exclude by list) does not stop blocks aggregating themselves', async () => {
  // 25,200 recent spans of other traces, an hour later (outside the range), beside the overlapping third.
  const others = syntheticTraces({ traces: 4200, spansPerTrace: 6, seed: 99, startNs: 1_767_229_200_000_000_000n });
  const busy = recentBlock([...traces.filter((_, i) => i % 3 === 0), ...others]);
  let pushed = 0;
  const spy: Block = Object.assign(tracesOnly(stored), {
    metricsGroups: async (...a: Parameters<NonNullable<Block['metricsGroups']>>) => {
      const g = await stored.metricsGroups!(...a);
      if (g !== null) pushed++;
      return g;
    },
  });
  const q = '{ } | count_over_time() by (resource.service.name)';
  const got = await run(q, [sourceOf(busy), sourceOf(spy)]);
  assert.equal(pushed, 1, 'the block aggregated in SQL, excluding only the recent spans it may hold');
  const counts = oracle(
    () => true,
    service,
    (vs) => vs.length,
  );
  assertClose(asMap(got.series), counts, 'recent (busy) + block', true);
});
