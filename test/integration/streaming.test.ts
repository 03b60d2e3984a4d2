// Grafana's streaming queries (stream_over_http_enabled): a grpc-js client speaks
// tempopb.StreamingQuerier to the HTTP API port of a real rubato, over traces sent with the
// OpenTelemetry SDK, some in blocks and some recent. Search and metrics stream partial answers and end
// with the whole answer and OK; tags answer v1 and v2; bad input is INVALID_ARGUMENT; plain HTTP/1.1
// keeps working on the same port.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { credentials, loadPackageDefinition, Metadata, status, type Client, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { OTLPTraceExporter as HttpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { projectRoot, startRubato, type RubatoProcess } from '../support/rubato-process.js';
import { sendTraces, traceIdsOf } from '../support/otel-traces.js';

const TENANT = 'stream-team';

interface Metrics {
  completedJobs: number;
  totalJobs: number;
  totalBlocks: number;
}
interface SearchResponse {
  traces: { traceID: string; rootServiceName: string }[];
  metrics: Metrics | null;
}
interface KeyValue {
  key: string;
  value: { stringValue?: string; doubleValue?: number } | null;
}
interface QueryRangeResponse {
  series: { labels: KeyValue[]; samples: { value: number; timestampMs: string }[] }[];
  metrics: Metrics | null;
}
interface QueryInstantResponse {
  series: { labels: KeyValue[]; value: number }[];
}

type StreamingMethod = (request: object, metadata: Metadata) => ClientReadableStream<unknown>;
type StreamingClient = Client & Record<string, StreamingMethod>;

/** Every message of a server-streaming call; rejects with the call's error status. */
function collect<T>(client: StreamingClient, method: string, request: object, orgId: string | null = TENANT): Promise<T[]> {
  const md = new Metadata();
  if (orgId !== null) md.set('x-scope-orgid', orgId);
  const call = client[method]!.call(client, request, md);
  const out: T[] = [];
  return new Promise((resolve, reject) => {
    call.on('data', (m: T) => out.push(m));
    call.on('error', reject);
    call.on('status', (s: { code: number }) => {
      if (s.code === status.OK) resolve(out);
    });
  });
}

async function refused(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  assert.fail('the call succeeded');
}

describe('tempopb.StreamingQuerier on the HTTP port (stream_over_http_enabled)', () => {
  let rubato: RubatoProcess;
  let client: StreamingClient;
  let shop: string[];
  let other: string[];
  let startSec: number;
  let endSec: number;

  before(async () => {
    rubato = await startRubato({ extraYaml: 'multitenancy_enabled: true\nstream_over_http_enabled: true' });
    await rubato.waitReady();
    startSec = Math.floor(Date.now() / 60_000) * 60 - 600;
    endSec = startSec + 720;
    const exporter = (): HttpProtoExporter =>
      new HttpProtoExporter({ url: `http://127.0.0.1:${rubato.otlpHttpPort}/v1/traces`, headers: { 'x-scope-orgid': TENANT } });
    // Three traces in a block, two still recent: a search reads both kinds of block.
    shop = traceIdsOf(await sendTraces(exporter(), 3, 'stream-shop'));
    const flushed = await fetch(`${rubato.url}/flush`, { method: 'POST' });
    assert.equal(flushed.status, 204);
    other = traceIdsOf(await sendTraces(exporter(), 2, 'stream-other'));

    const def = loadSync(join(projectRoot, 'test', 'support', 'streaming-querier.proto'), { longs: String, enums: String, defaults: true, oneofs: true });
    const pkg = loadPackageDefinition(def) as unknown as {
      tempopb: { StreamingQuerier: new (addr: string, creds: ReturnType<typeof credentials.createInsecure>) => StreamingClient };
    };
    client = new pkg.tempopb.StreamingQuerier(`127.0.0.1:${rubato.httpPort}`, credentials.createInsecure());
  });
  after(async () => {
    client?.close();
    await rubato.stop();
    rubato.cleanup();
  });

  test('Search streams partial answers over recent data and blocks, the last message whole', async () => {
    const msgs = await collect<SearchResponse>(client, 'Search', { Query: '{ }', Limit: 20, start: startSec, end: endSec });
    assert.ok(msgs.length >= 2, `a partial answer before the last: ${msgs.length} message(s)`);
    const last = msgs.at(-1)!;
    const want = [...shop, ...other].sort();
    assert.deepEqual(last.traces.map((t) => t.traceID).sort(), want, 'the last message holds the whole answer');
    assert.ok(last.metrics !== null && last.metrics.totalBlocks >= 2, `recent data and a block: ${JSON.stringify(last.metrics)}`);
    assert.equal(last.metrics.completedJobs, last.metrics.totalJobs, 'every job done');
    // Earlier messages carry what was new since the one before, and counters that only grow.
    const partial = msgs.slice(0, -1);
    const ids = partial.flatMap((m) => m.traces.map((t) => t.traceID));
    assert.equal(new Set(ids).size, ids.length, 'a trace is streamed once');
    for (const id of ids) assert.ok(want.includes(id));
    let done = 0;
    for (const m of msgs) {
      assert.ok(m.metrics !== null && m.metrics.completedJobs >= done, 'completedJobs never goes back');
      done = m.metrics.completedJobs;
    }
    assert.ok(partial[0]!.metrics!.completedJobs < last.metrics.totalJobs, 'the first message comes before the last block is read');

    const services = await collect<SearchResponse>(client, 'Search', { Query: '{ resource.service.name = "stream-shop" }', start: startSec, end: endSec });
    assert.deepEqual(
      services
        .at(-1)!
        .traces.map((t) => t.traceID)
        .sort(),
      [...shop].sort(),
    );
    // The legacy tags map, as older Grafanas send it.
    const tagged = await collect<SearchResponse>(client, 'Search', { Tags: { 'service.name': 'stream-other' }, start: startSec, end: endSec });
    assert.deepEqual(
      tagged
        .at(-1)!
        .traces.map((t) => t.traceID)
        .sort(),
      [...other].sort(),
    );
  });

  test('tag names and values, v1 and v2', async () => {
    const v1 = await collect<{ tagNames: string[] }>(client, 'SearchTags', {});
    assert.ok(v1.at(-1)!.tagNames.includes('http.route'), JSON.stringify(v1));
    assert.ok(v1.at(-1)!.tagNames.includes('service.name'));

    const v2 = await collect<{ scopes: { name: string; tags: string[] }[] }>(client, 'SearchTagsV2', { scope: 'resource' });
    assert.deepEqual(
      v2.at(-1)!.scopes.map((s) => s.name),
      ['resource'],
    );
    assert.ok(v2.at(-1)!.scopes[0]!.tags.includes('service.name'));

    const values = await collect<{ tagValues: string[] }>(client, 'SearchTagValues', { tagName: 'service.name' });
    assert.deepEqual([...values.at(-1)!.tagValues].sort(), ['stream-other', 'stream-shop']);

    const typed = await collect<{ tagValues: { type: string; value: string }[] }>(client, 'SearchTagValuesV2', {
      tagName: 'resource.service.name',
      query: '{ resource.service.name = "stream-shop" }',
    });
    assert.deepEqual(typed.at(-1)!.tagValues, [{ type: 'string', value: 'stream-shop' }]);
  });

  test('MetricsQueryRange and MetricsQueryInstant stream series, the last message whole', async () => {
    const ns = (sec: number): string => `${sec}000000000`;
    const msgs = await collect<QueryRangeResponse>(client, 'MetricsQueryRange', {
      query: '{ } | count_over_time() by (resource.service.name)',
      start: ns(startSec),
      end: ns(endSec),
      step: ns(60),
    });
    assert.ok(msgs.length >= 2, `a partial answer before the last: ${msgs.length} message(s)`);
    const last = msgs.at(-1)!;
    const totals = new Map(
      last.series.map((s) => [s.labels.find((l) => l.key === 'resource.service.name')?.value?.stringValue, s.samples.reduce((n, x) => n + x.value, 0)]),
    );
    // Each checkout trace has four spans.
    assert.deepEqual(
      totals,
      new Map([
        ['stream-shop', 12],
        ['stream-other', 8],
      ]),
    );
    for (const s of last.series) for (const x of s.samples) assert.equal(Number(x.timestampMs) % 60_000, 0, 'samples on step boundaries');
    assert.equal(last.metrics!.completedJobs, last.metrics!.totalJobs);

    const instant = await collect<QueryInstantResponse>(client, 'MetricsQueryInstant', {
      query: '{ kind = client } | count_over_time()',
      start: ns(startSec),
      end: ns(endSec),
    });
    assert.equal(instant.at(-1)!.series.length, 1);
    assert.equal(instant.at(-1)!.series[0]!.value, 10, 'two client spans per trace');
  });

  test('bad queries, parameters and tenants are refused with a status and a message', async () => {
    const badSearch = await refused(collect(client, 'Search', { Query: '{ .a = }' }));
    assert.equal(badSearch.code, status.INVALID_ARGUMENT);
    assert.match(badSearch.details, /invalid TraceQL query/);

    const metricsOnSearch = await refused(collect(client, 'Search', { Query: '{ } | rate()' }));
    assert.equal(metricsOnSearch.code, status.INVALID_ARGUMENT);

    const badMetrics = await refused(collect(client, 'MetricsQueryRange', { query: '{ } | rate(', start: '1', end: '2' }));
    assert.equal(badMetrics.code, status.INVALID_ARGUMENT);
    assert.match(badMetrics.details, /invalid TraceQL query/);

    const backwards = await refused(
      collect(client, 'MetricsQueryInstant', { query: '{ } | rate()', start: `${endSec}000000000`, end: `${startSec}000000000` }),
    );
    assert.equal(backwards.code, status.INVALID_ARGUMENT);
    assert.match(backwards.details, /end must be greater than start/);

    const badScope = await refused(collect(client, 'SearchTagsV2', { scope: 'nowhere' }));
    assert.equal(badScope.code, status.INVALID_ARGUMENT);

    const noTenant = await refused(collect(client, 'Search', { Query: '{ }' }, null));
    assert.equal(noTenant.code, status.UNAUTHENTICATED);
    const badTenant = await refused(collect(client, 'Search', { Query: '{ }' }, 'a/b'));
    assert.equal(badTenant.code, status.INVALID_ARGUMENT);
    assert.match(badTenant.details, /tenant ID/);

    // Another tenant sees none of it.
    const stranger = await collect<SearchResponse>(client, 'Search', { Query: '{ }' }, 'someone-else');
    assert.deepEqual(stranger.at(-1)!.traces, []);
  });

  test('plain HTTP/1.1 works on the same port', async () => {
    const r = await fetch(`${rubato.url}/api/search?${new URLSearchParams({ q: '{ }', start: String(startSec), end: String(endSec) })}`, {
      headers: { 'x-scope-orgid': TENANT },
    });
    assert.equal(r.status, 200);
    const body = (await r.json()) as { traces: { traceID: string }[] };
    assert.equal(body.traces.length, shop.length + other.length);
    assert.equal((await fetch(`${rubato.url}/ready`)).status, 200);
  });
});
