import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startRubato, type RubatoProcess } from '../support/rubato-process.js';
import { makeExporter, sendTraces, traceIdsOf } from '../support/otel-traces.js';

interface JsonSpan {
  spanID: string;
  name?: string;
  startTimeUnixNano: string;
  durationNanos: string;
  attributes?: { key: string; value: Record<string, unknown> }[];
}
interface JsonSpanSet {
  spans: JsonSpan[];
  matched: number;
  attributes?: { key: string; value: Record<string, unknown> }[];
}
interface JsonTrace {
  traceID: string;
  rootServiceName: string;
  rootTraceName?: string;
  startTimeUnixNano: string;
  durationMs?: number;
  spanSet?: JsonSpanSet;
  spanSets: JsonSpanSet[];
  serviceStats?: Record<string, { spanCount: number; errorCount?: number }>;
}
interface SearchBody {
  traces: JsonTrace[];
  metrics: Record<string, unknown>;
}

async function search(rubato: RubatoProcess, params: Record<string, string>): Promise<SearchBody> {
  const r = await fetch(`${rubato.url}/api/search?${new URLSearchParams(params)}`);
  const text = await r.text();
  assert.equal(r.status, 200, `${JSON.stringify(params)}: ${text}`);
  return JSON.parse(text) as SearchBody;
}

async function ids(rubato: RubatoProcess, params: Record<string, string>): Promise<string[]> {
  return (await search(rubato, params)).traces.map((t) => t.traceID).sort();
}

async function getJson<T>(rubato: RubatoProcess, path: string): Promise<T> {
  const r = await fetch(`${rubato.url}${path}`);
  const text = await r.text();
  assert.equal(r.status, 200, `${path}: ${text}`);
  return JSON.parse(text) as T;
}

describe('search and tags over traces sent with the OpenTelemetry SDK', () => {
  let rubato: RubatoProcess;
  let shop: ReadableSpan[];
  let other: ReadableSpan[];
  const sorted = (xs: string[]): string[] => [...xs].sort();

  before(async () => {
    rubato = await startRubato();
    await rubato.waitReady();
    shop = await sendTraces(makeExporter('http-proto', rubato), 3, 'search-shop');
    other = await sendTraces(makeExporter('grpc', rubato), 2, 'search-other');
  });
  after(async () => {
    await rubato.stop();
    rubato.cleanup();
  });

  /** The same questions, asked while the traces are recent and again once they are in blocks. */
  async function assertSearches(): Promise<void> {
    const shopIds = sorted(traceIdsOf(shop));
    const otherIds = sorted(traceIdsOf(other));
    const all = sorted([...shopIds, ...otherIds]);

    assert.deepEqual(await ids(rubato, { q: '{ resource.service.name = "search-shop" }' }), shopIds);
    assert.deepEqual(await ids(rubato, { q: '{ span.db.system = "postgresql" && span.db.rows = 7 }' }), all);
    assert.deepEqual(await ids(rubato, { q: '{ .deployment.environment = "test" && .http.route = "/checkout" }' }), all);
    assert.deepEqual(await ids(rubato, { q: '{ name = "charge card" && kind = client && status = error }' }), all);
    assert.deepEqual(await ids(rubato, { q: '{ resource.service.name = "search-other" && name =~ "POST.*" }' }), otherIds);
    assert.deepEqual(await ids(rubato, { q: '{ span.order.tags = "n1" }' }), sorted([traceIdsOf(shop)[1]!, traceIdsOf(other)[1]!]));
    assert.deepEqual(await ids(rubato, { q: '{ span.order.ratio > 1.0 && resource.service.name = "search-shop" }' }), sorted(traceIdsOf(shop).slice(1)));
    assert.deepEqual(await ids(rubato, { q: '{ resource.service.name = "nobody" }' }), []);
    // Structural and aggregate queries.
    assert.deepEqual(await ids(rubato, { q: '{ span.http.route = "/checkout" && resource.service.name = "search-shop" } >> { status = error }' }), shopIds);
    assert.deepEqual(await ids(rubato, { q: '{ name = "SELECT orders" } > { status = error }' }), []);
    assert.deepEqual(await ids(rubato, { q: '{ resource.service.name = "search-other" } | count() > 2' }), otherIds);
    assert.deepEqual(await ids(rubato, { q: '{ resource.service.name = "search-other" } | count() > 4' }), []);
    assert.deepEqual(await ids(rubato, { q: '{ status = error } | count() = 2' }), all);
    // Legacy tag search and trace durations.
    assert.deepEqual(await ids(rubato, { tags: 'service.name=search-shop http.status_code=500' }), shopIds);
    assert.deepEqual(await ids(rubato, { tags: 'service.name=search-shop', minDuration: '1h' }), []);
    assert.deepEqual(await ids(rubato, { tags: 'service.name=search-shop', maxDuration: '1h' }), shopIds);
    assert.deepEqual(await ids(rubato, {}), all);
    assert.equal((await search(rubato, { q: '{ }', limit: '2' })).traces.length, 2);

    // Response shape.
    const body = await search(rubato, { q: '{ resource.service.name = "search-shop" && span.http.status_code = 500 }', spss: '1' });
    assert.equal(body.traces.length, 3);
    const starts = body.traces.map((t) => BigInt(t.startTimeUnixNano));
    assert.deepEqual(
      starts,
      [...starts].sort((a, b) => (a < b ? 1 : -1)),
      'newest first',
    );
    const t = body.traces[0]!;
    assert.match(t.traceID, /^[0-9a-f]{32}$/);
    assert.equal(t.rootServiceName, 'search-shop');
    assert.equal(t.rootTraceName, 'POST /checkout');
    assert.equal(typeof t.startTimeUnixNano, 'string');
    assert.equal(t.spanSets.length, 1);
    assert.deepEqual(t.spanSet, t.spanSets[0]);
    const ss = t.spanSets[0]!;
    assert.equal(ss.matched, 1);
    assert.equal(ss.spans.length, 1);
    const span = ss.spans[0]!;
    assert.match(span.spanID, /^[0-9a-f]{16}$/);
    assert.equal(span.name, 'POST /checkout');
    assert.equal(typeof span.durationNanos, 'string');
    assert.deepEqual(span.attributes?.find((a) => a.key === 'http.status_code')?.value, { intValue: '500' });
    assert.deepEqual(span.attributes?.find((a) => a.key === 'service.name')?.value, { stringValue: 'search-shop' });
    assert.deepEqual(t.serviceStats, { 'search-shop': { spanCount: 4, errorCount: 2 } });
    assert.ok(Number(body.metrics['inspectedTraces']) >= 3, JSON.stringify(body.metrics));

    const errs = await search(rubato, { q: '{ status = error } | count() > 1', spss: '5' });
    assert.equal(errs.traces[0]!.spanSets[0]!.matched, 2);
    assert.deepEqual(errs.traces[0]!.spanSets[0]!.attributes, [{ key: 'count()', value: { intValue: '2' } }]);
    assert.deepEqual(errs.traces[0]!.spanSets[0]!.spans[0]!.attributes?.find((a) => a.key === 'status')?.value, { stringValue: 'error' });

    const grouped = await search(rubato, { q: '{ status = error } | by(kind)' });
    const groups = grouped.traces[0]!.spanSets.map((s) => s.attributes?.[0]?.value['stringValue']).sort();
    assert.deepEqual(groups, ['client', 'server']);

    const pb = await fetch(`${rubato.url}/api/search?q=${encodeURIComponent('{ }')}`, { headers: { Accept: 'application/protobuf' } });
    assert.equal(pb.status, 200);
    assert.match(pb.headers.get('content-type') ?? '', /application\/protobuf/);
    const bytes = new Uint8Array(await pb.arrayBuffer());
    assert.equal(bytes[0], 0x0a, 'SearchResponse.traces (field 1) comes first');
  }

  async function assertTags(recent: boolean): Promise<void> {
    const v1 = await getJson<{ tagNames: string[] }>(rubato, '/api/search/tags');
    for (const k of ['service.name', 'deployment.environment', 'http.route', 'db.system', 'order.tags']) assert.ok(v1.tagNames.includes(k), k);

    const v2 = await getJson<{ scopes: { name: string; tags: string[] }[] }>(rubato, '/api/v2/search/tags');
    const scope = (n: string): string[] => v2.scopes.find((s) => s.name === n)?.tags ?? [];
    assert.ok(scope('resource').includes('service.name'));
    assert.ok(scope('resource').includes('host.cores'));
    assert.ok(scope('span').includes('peer.service'));
    assert.ok(!scope('span').includes('service.name'));
    for (const i of ['duration', 'name', 'status', 'kind', 'rootServiceName', 'span:name', 'trace:rootService']) assert.ok(scope('intrinsic').includes(i), i);
    if (recent) {
      assert.ok(scope('event').includes('db.statement.len'));
      assert.ok(scope('link').includes('link.reason'));
    }
    const spanOnly = await getJson<{ scopes: { name: string; tags: string[] }[] }>(rubato, '/api/v2/search/tags?scope=span');
    assert.deepEqual(
      spanOnly.scopes.map((s) => s.name),
      ['span'],
    );

    const services = await getJson<{ tagValues: string[] }>(rubato, '/api/search/tag/service.name/values');
    assert.deepEqual(services.tagValues.filter((v) => v.startsWith('search-')).sort(), ['search-other', 'search-shop']);

    const typed = await getJson<{ tagValues: { type: string; value: string }[] }>(rubato, '/api/v2/search/tag/resource.service.name/values');
    assert.ok(typed.tagValues.some((v) => v.type === 'string' && v.value === 'search-shop'));
    const codes = await getJson<{ tagValues: { type: string; value: string }[] }>(rubato, '/api/v2/search/tag/span.http.status_code/values');
    assert.deepEqual(codes.tagValues, [{ type: 'int', value: '500' }]);
    const status = await getJson<{ tagValues: { type: string; value: string }[] }>(rubato, '/api/v2/search/tag/status/values');
    assert.ok(status.tagValues.some((v) => v.type === 'keyword' && v.value === 'error'));
    const names = await getJson<{ tagValues: { type: string; value: string }[] }>(rubato, '/api/v2/search/tag/name/values');
    assert.ok(names.tagValues.some((v) => v.value === 'charge card'));

    const q = encodeURIComponent('{ resource.service.name = "search-other" }');
    const filtered = await getJson<{ tagValues: { type: string; value: string }[] }>(rubato, `/api/v2/search/tag/resource.service.name/values?q=${q}`);
    assert.deepEqual(filtered.tagValues, [{ type: 'string', value: 'search-other' }]);
    const q2 = encodeURIComponent('{ name = "charge card" }');
    const peer = await getJson<{ scopes: { name: string; tags: string[] }[] }>(rubato, `/api/v2/search/tags?scope=span&q=${q2}`);
    assert.deepEqual(peer.scopes[0]!.tags, ['peer.service']);
  }

  test('recent traces are found by filters, structure and aggregates', async () => {
    await assertSearches();
  });

  test('tag names and values of recent traces', async () => {
    await assertTags(true);
  });

  test('the same answers once the traces are in blocks', async () => {
    const r = await fetch(`${rubato.url}/flush`, { method: 'POST' });
    assert.equal(r.status, 204);
    const m = (await search(rubato, { q: '{ }' })).metrics;
    assert.ok(Number(m['totalBlocks']) >= 1, `searched blocks: ${JSON.stringify(m)}`);
    await assertSearches();
    await assertTags(false);
  });

  test('bad queries and parameters are 400 with a message', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ q: '{ .a = }' }, /invalid TraceQL query/],
      [{ q: '{ .a = "x" ' }, /invalid TraceQL query/],
      [{ q: '{ 1 + 1 }' }, /invalid TraceQL query/],
      [{ q: '{ } | rate()' }, /metrics/],
      [{ q: '{ }', limit: 'x' }, /limit/],
      [{ q: '{ }', minDuration: 'fast' }, /minDuration/],
      [{ q: '{ }', start: 'yesterday' }, /start/],
      [{ tags: '=oops' }, /tags/],
    ];
    for (const [params, re] of cases) {
      const r = await fetch(`${rubato.url}/api/search?${new URLSearchParams(params)}`);
      assert.equal(r.status, 400, JSON.stringify(params));
      assert.match(await r.text(), re);
    }
    const badScope = await fetch(`${rubato.url}/api/v2/search/tags?scope=bogus`);
    assert.equal(badScope.status, 400);
    const badQ = await fetch(`${rubato.url}/api/v2/search/tag/name/values?q=${encodeURIComponent('{ .a = }')}`);
    assert.equal(badQ.status, 400);
  });
});
