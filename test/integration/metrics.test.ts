// TraceQL metrics against a real rubato process, with traces sent by the OpenTelemetry SDK exporters:
// the same answers while the traces are recent and once they are in blocks, Tempo's JSON and
// protobuf shapes, 400 for bad requests, and every metrics query of Tempo's example list.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { parse as parseYaml } from 'yaml';
import { projectRoot, startRubato, type RubatoProcess } from '../support/rubato-process.js';
import { makeExporter, sendTraces, traceIdsOf } from '../support/otel-traces.js';
import { WireReader } from '../../src/otlp/wire.js';

interface Label {
  key: string;
  value: Record<string, unknown>;
}
interface RangeBody {
  series: {
    labels: Label[];
    samples: { timestampMs: string; value?: number }[];
    exemplars?: { labels: Label[]; value?: number | string; timestampMs: string }[];
  }[];
  metrics: Record<string, unknown>;
}
interface InstantBody {
  series: { labels: Label[]; value?: number }[];
}

const examplesPath = join(projectRoot, '..', 'shared', 'reference', 'tempo-traceql-test-examples.yaml');

describe('TraceQL metrics over traces sent with the OpenTelemetry SDK', () => {
  let rubato: RubatoProcess;
  let shop: ReadableSpan[];
  let other: ReadableSpan[];
  let start: number;
  let end: number;

  before(async () => {
    rubato = await startRubato();
    await rubato.waitReady();
    // Minute-aligned, so the answer has (end - start) / 60 samples plus Tempo's extra first one.
    start = Math.floor(Date.now() / 60_000) * 60 - 600;
    shop = await sendTraces(makeExporter('http-proto', rubato), 3, 'metrics-shop');
    other = await sendTraces(makeExporter('grpc', rubato), 2, 'metrics-other');
    end = start + 720;
  });
  after(async () => {
    await rubato.stop();
    rubato.cleanup();
  });

  async function get<T>(path: string, params: Record<string, string>): Promise<T> {
    const r = await fetch(`${rubato.url}${path}?${new URLSearchParams(params)}`);
    const text = await r.text();
    assert.equal(r.status, 200, `${JSON.stringify(params)}: ${text}`);
    return JSON.parse(text) as T;
  }
  const range = (q: string, extra: Record<string, string> = {}): Promise<RangeBody> =>
    get<RangeBody>('/api/metrics/query_range', { q, start: String(start), end: String(end), step: '60s', ...extra });
  const labelOf = (ls: Label[], key: string): unknown => ls.find((l) => l.key === key)?.value;
  const total = (s: RangeBody['series'][number]): number => s.samples.reduce((n, x) => n + (x.value ?? 0), 0);

  async function assertAnswers(): Promise<void> {
    // Each checkout trace has four spans, two of them errors.
    const byService = await range('{ } | count_over_time() by (resource.service.name)');
    const totals = new Map(byService.series.map((s) => [(labelOf(s.labels, 'resource.service.name') as { stringValue: string }).stringValue, total(s)]));
    assert.deepEqual(
      totals,
      new Map([
        ['metrics-shop', 12],
        ['metrics-other', 8],
      ]),
    );
    for (const s of byService.series) {
      assert.equal(s.samples.length, (end - start) / 60 + 1, 'one sample per minute of the range, and one before');
      assert.equal(Number(s.samples[0]!.timestampMs), start * 1000, 'first sample at the start');
      for (const x of s.samples) assert.equal(Number(x.timestampMs) % 60_000, 0, 'samples on step boundaries');
    }

    const errors = await range('{ status = error } | rate()');
    assert.equal(errors.series.length, 1);
    assert.deepEqual(errors.series[0]!.labels, [{ key: '__name__', value: { stringValue: 'rate' } }]);
    assert.ok(Math.abs(total(errors.series[0]!) * 60 - 10) < 1e-9, 'rate × step = count');

    const q = await range('{ resource.service.name = "metrics-shop" } | quantile_over_time(duration, .5, .99) by (span.http.route)');
    // Root spans have a route, the others none (the series labelled nil): two groups, two quantiles each.
    const keys = q.series.map((s) => JSON.stringify(s.labels)).sort();
    assert.deepEqual(keys, [
      '[{"key":"span.http.route","value":{"stringValue":"/checkout"}},{"key":"p","value":{"doubleValue":0.5}}]',
      '[{"key":"span.http.route","value":{"stringValue":"/checkout"}},{"key":"p","value":{"doubleValue":0.99}}]',
      '[{"key":"span.http.route","value":{"stringValue":"nil"}},{"key":"p","value":{"doubleValue":0.5}}]',
      '[{"key":"span.http.route","value":{"stringValue":"nil"}},{"key":"p","value":{"doubleValue":0.99}}]',
    ]);

    const withEx = await range('{ } | count_over_time() by (resource.service.name)', { exemplars: '10' });
    const sent = new Set([...traceIdsOf(shop), ...traceIdsOf(other)]);
    const exemplars = withEx.series.flatMap((s) => s.exemplars ?? []);
    assert.ok(exemplars.length > 0, 'exemplars');
    for (const e of exemplars) assert.ok(sent.has((labelOf(e.labels, 'trace:id') as { stringValue: string }).stringValue));

    const cut = await range('{ } | count_over_time() by (resource.service.name)', { maxSeries: '1' });
    assert.equal(cut.series.length, 1);
    assert.equal((cut as RangeBody & { status?: string }).status, 'PARTIAL');

    const instant = await get<InstantBody>('/api/metrics/query', { q: '{ kind = client } | count_over_time()', start: String(start), end: String(end) });
    assert.equal(instant.series.length, 1);
    assert.equal(instant.series[0]!.value, 10);

    // Protobuf: tempopb.QueryRangeResponse, series at field 1 with labels (1) and samples (2).
    const r = await fetch(
      `${rubato.url}/api/metrics/query_range?${new URLSearchParams({ q: '{ } | count_over_time()', start: String(start), end: String(end), step: '60' })}`,
      {
        headers: { accept: 'application/protobuf' },
      },
    );
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /application\/protobuf/);
    let count = 0;
    const rd = new WireReader(new Uint8Array(await r.arrayBuffer()));
    while (!rd.eof()) {
      const tag = rd.tag();
      if (tag >>> 3 !== 1) {
        rd.skip(tag & 7);
        continue;
      }
      const end1 = rd.lenEnd();
      const series = new WireReader(rd.buf, rd.pos, end1);
      while (!series.eof()) {
        const t2 = series.tag();
        if (t2 >>> 3 !== 2) {
          series.skip(t2 & 7);
          continue;
        }
        const end2 = series.lenEnd();
        const sample = new WireReader(series.buf, series.pos, end2);
        while (!sample.eof()) {
          const t3 = sample.tag();
          if (t3 >>> 3 === 1) count += sample.double();
          else sample.skip(t3 & 7);
        }
        series.pos = end2;
      }
      rd.pos = end1;
    }
    assert.equal(count, 20);
  }

  test('recent traces', async () => {
    await assertAnswers();
  });

  test('the same answers once the traces are in blocks (each span counted once)', async () => {
    const r = await fetch(`${rubato.url}/flush`, { method: 'POST' });
    assert.equal(r.status, 204);
    const m = (await range('{ } | rate()')).metrics;
    assert.ok(Number(m['totalBlocks']) >= 1, JSON.stringify(m));
    await assertAnswers();
  });

  test('bad requests are 400 with a message', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ q: '{ } | rate(' }, /invalid TraceQL query/],
      [{ q: '{ status = error }' }, /not a metrics query/],
      [{ q: '' }, /empty query/],
      [{ q: '{ } | rate()', start: '200', end: '100' }, /end must be greater than start/],
      [{ q: '{ } | rate()', start: '100', end: '100' }, /end must be greater than start/],
      [{ q: '{ } | rate()', start: '0', end: '86400', step: '1s' }, /step of 1s is too small/],
      [{ q: '{ } | rate()', start: 'soon' }, /invalid start/],
      [{ q: '{ } | rate()', step: 'fast' }, /invalid step/],
      [{ q: '{ } | rate() | topk(0)' }, /invalid TraceQL query/],
    ];
    for (const [params, re] of cases) {
      const res = await fetch(`${rubato.url}/api/metrics/query_range?${new URLSearchParams(params)}`);
      assert.equal(res.status, 400, JSON.stringify(params));
      assert.match(await res.text(), re, JSON.stringify(params));
    }
    const inst = await fetch(`${rubato.url}/api/metrics/query?${new URLSearchParams({ q: '{ } | rate()', start: '300', end: '200' })}`);
    assert.equal(inst.status, 400);
  });

  test("Tempo's example list: metrics queries answer 200 on the metrics endpoints, invalid queries 400", {
    skip: existsSync(examplesPath) ? false : `${examplesPath} not found`,
  }, async () => {
    const doc = parseYaml(readFileSync(examplesPath, 'utf8')) as Record<string, string[] | null>;
    const metricsLike = (q: string): boolean =>
      /\b(rate|count_over_time|min_over_time|max_over_time|avg_over_time|sum_over_time|quantile_over_time|histogram_over_time|compare|topk|bottomk)\s*\(/.test(
        q,
      );
    const wrong: string[] = [];
    let valid = 0;
    let invalid = 0;
    const ask = async (path: string, q: string): Promise<[number, string]> => {
      const res = await fetch(`${rubato.url}${path}?${new URLSearchParams({ q, start: String(start), end: String(end), step: '60' })}`);
      return [res.status, await res.text()];
    };
    for (const q of doc['valid'] ?? []) {
      if (!metricsLike(q)) continue;
      valid++;
      for (const path of ['/api/metrics/query_range', '/api/metrics/query']) {
        const [status, body] = await ask(path, q);
        if (status !== 200) wrong.push(`${path} ${JSON.stringify(q)} -> ${status} ${body.slice(0, 200)}`);
      }
    }
    for (const key of ['parse_fails', 'validate_fails', 'unsupported']) {
      for (const q of doc[key] ?? []) {
        invalid++;
        const [status, body] = await ask('/api/metrics/query_range', q);
        if (status !== 400) wrong.push(`${key} ${JSON.stringify(q)} -> ${status} ${body.slice(0, 200)}`);
      }
    }
    assert.ok(valid > 100, `metrics queries found: ${valid}`);
    assert.ok(invalid > 100);
    assert.equal(wrong.length, 0, wrong.join('\n'));
  });
});
