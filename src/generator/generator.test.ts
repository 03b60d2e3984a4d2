import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { InMemorySpanExporter, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import snappy from 'snappyjs';
import { loadConfig, renderConfig, type MetricsGeneratorConfig } from '../config/load.js';
import { decodeExportRequest } from '../otlp/decode-request.js';
import { WIRE_LEN, WireReader } from '../otlp/wire.js';
import type { GeneratorTenantSettings } from '../overrides/generator.js';
import { generatorSettings } from '../overrides/generator.js';
import { sendKnownSet } from '../../test/support/generator-traces.js';
import { createMetricsGenerator, type MetricsGenerator } from './generator.js';
import { SeriesRegistry } from './registry.js';
import { encodeRegistry } from './remote-write.js';
import { RemoteWriteQueue } from './remote-queue.js';
import { SINGLE_TENANT } from '../model/tenant.js';
import type { PushBatch } from '../model/batch.js';
import type { Pusher } from '../model/pusher.js';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/support/ports.js';

const logger = pino({ level: 'silent' });

function generatorConfig(yaml = ''): MetricsGeneratorConfig {
  const dir = mkdtempSync(join(tmpdir(), 'gen-cfg-'));
  try {
    const path = join(dir, 'c.yaml');
    writeFileSync(path, yaml);
    return loadConfig([`-config.file=${path}`], {}).config.metrics_generator;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const BOTH: GeneratorTenantSettings = { processors: new Set(['span-metrics', 'service-graphs']), maxActiveSeries: 0, collectionIntervalMs: 60_000 };

/** Sends the known set through in-memory exporters and feeds the encoded requests to the generator. */
async function feedKnownSet(gen: MetricsGenerator, count: number) {
  const { set, batches } = await knownSetBatches(count);
  for (const b of batches) gen.consume(b);
  return set;
}

/** The known set as decoded push batches. */
async function knownSetBatches(count: number) {
  const exporters: InMemorySpanExporter[] = [];
  const set = await sendKnownSet(
    () => {
      const e = new InMemorySpanExporter();
      exporters.push(e);
      return e as SpanExporter;
    },
    count,
    false,
  );
  const batches: PushBatch[] = [];
  for (const e of exporters) {
    const bytes = ProtobufTraceSerializer.serializeRequest(e.getFinishedSpans());
    assert.ok(bytes);
    batches.push(decodeExportRequest(bytes, SINGLE_TENANT));
  }
  return { set, batches };
}

function sampleValue(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1).split(' ')[0]);
  return undefined;
}

describe('metrics generator', () => {
  test('config: Tempo keys parse, processors come from overrides (nested and legacy flat layout)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gen-cfg-'));
    try {
      const path = join(dir, 'c.yaml');
      writeFileSync(
        path,
        [
          'metrics_generator:',
          '  processor:',
          '    span_metrics:',
          '      dimensions: [http.method]',
          '      histogram_buckets: [0.1, 1]',
          '    service_graphs:',
          '      wait: 2s',
          '      peer_attributes: [peer.service]',
          '  registry:',
          '    external_labels: { cluster: test }',
          '  storage:',
          '    path: /tmp/gen',
          '    remote_write:',
          '      - url: http://127.0.0.1:9090/api/v1/write',
          '        send_exemplars: true',
          '        basic_auth: { username: u, password: secret }',
          'overrides:',
          '  metrics_generator_processors: [service-graphs]',
          '  metrics_generator_max_active_series: 500',
        ].join('\n'),
      );
      const { config, warnings } = loadConfig([`-config.file=${path}`], {});
      assert.deepEqual(warnings, []);
      const g = config.metrics_generator;
      assert.deepEqual(g.processor.span_metrics.dimensions, ['http.method']);
      assert.deepEqual(g.processor.span_metrics.histogram_buckets, [0.1, 1]);
      assert.equal(g.processor.service_graphs.wait, 2000);
      assert.deepEqual(g.registry.external_labels, { cluster: 'test' });
      assert.equal(g.storage.remote_write[0]?.send_exemplars, true);
      const s = generatorSettings(config, 'any');
      assert.deepEqual([...s.processors], ['service-graphs']);
      assert.equal(s.maxActiveSeries, 500);
      assert.equal(s.collectionIntervalMs, 15_000);
      // processors are off by default, as in Tempo
      assert.equal(generatorSettings(loadConfig([], {}).config, 'x').processors.size, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('config: remote_write entries are checked key by key and their passwords never shown', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gen-cfg-'));
    try {
      const path = join(dir, 'c.yaml');
      writeFileSync(
        path,
        'metrics_generator:\n  storage:\n    remote_write:\n      - url: http://x/api/v1/write\n        basic_auth: { username: u, password: hunter2 }\n        bogus: 1\n',
      );
      const { config, warnings } = loadConfig([`-config.file=${path}`], {});
      assert.deepEqual(warnings, ['unknown or unsupported config keys ignored: metrics_generator.storage.remote_write[0].bogus']);
      const yaml = renderConfig(config);
      assert.ok(!yaml.includes('hunter2'));
      assert.match(yaml, /password: "\*+"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('span metrics and service graphs of the known set, with exemplars in OpenMetrics', async () => {
    const cfg = generatorConfig('metrics_generator:\n  processor:\n    service_graphs:\n      wait: 100ms\n      enable_virtual_node_label: true\n');
    const gen = createMetricsGenerator({ config: cfg, settings: () => BOTH, logger, multitenancy: false });
    try {
      const set = await feedKnownSet(gen, 6);
      await new Promise((r) => setTimeout(r, 300));
      gen.collect();
      const text = gen.scrape(null, false);
      const calls = (svc: string, name: string, kind: string, status: string) =>
        sampleValue(text, `traces_spanmetrics_calls_total{service="${svc}",span_name="${name}",span_kind="${kind}",status_code="${status}"}`);
      assert.equal(calls('frontend', 'GET /checkout', 'SPAN_KIND_SERVER', 'STATUS_CODE_UNSET'), 6);
      assert.equal(calls('checkout', 'POST /api/checkout', 'SPAN_KIND_SERVER', 'STATUS_CODE_ERROR'), set.failed);
      assert.equal(calls('checkout', 'POST /api/checkout', 'SPAN_KIND_SERVER', 'STATUS_CODE_UNSET'), 6 - set.failed);
      assert.equal(
        sampleValue(
          text,
          'traces_spanmetrics_latency_count{service="checkout",span_name="charge",span_kind="SPAN_KIND_CLIENT",status_code="STATUS_CODE_UNSET"}',
        ),
        6,
      );
      // 30 ms lands in the 0.032 bucket, not in 0.016
      assert.equal(
        sampleValue(
          text,
          'traces_spanmetrics_latency_bucket{service="checkout",span_name="charge",span_kind="SPAN_KIND_CLIENT",status_code="STATUS_CODE_UNSET",le="0.016"}',
        ),
        0,
      );
      assert.equal(
        sampleValue(
          text,
          'traces_spanmetrics_latency_bucket{service="checkout",span_name="charge",span_kind="SPAN_KIND_CLIENT",status_code="STATUS_CODE_UNSET",le="0.032"}',
        ),
        6,
      );

      const edge = (m: string, c: string, s: string, t: string) => sampleValue(text, `${m}{client="${c}",server="${s}",connection_type="${t}"}`);
      assert.equal(edge('traces_service_graph_request_total', 'frontend', 'checkout', ''), 6);
      assert.equal(edge('traces_service_graph_request_failed_total', 'frontend', 'checkout', ''), set.failed);
      assert.equal(edge('traces_service_graph_request_total', 'checkout', 'orders', 'database'), 6);
      assert.equal(edge('traces_service_graph_request_total', 'checkout', 'payments', 'virtual_node'), 6);
      assert.equal(edge('traces_service_graph_request_total', 'user', 'frontend', 'virtual_node'), 6);
      assert.equal(edge('traces_service_graph_request_server_seconds_count', 'frontend', 'checkout', ''), 6);

      const om = gen.scrape(null, true);
      assert.ok(om.endsWith('# EOF\n'));
      assert.match(om, /^# TYPE traces_spanmetrics_calls counter$/m);
      const exemplarIds = [...om.matchAll(/# \{traceID="([0-9a-f]{32})"\}/g)].map((m) => m[1]);
      assert.ok(exemplarIds.length > 0);
      for (const id of exemplarIds) assert.ok(set.traceIds.includes(id!), `exemplar ${id} is one of the sent traces`);

      const graph = gen.serviceGraph(SINGLE_TENANT, Date.now() - 60_000, Date.now());
      const fc = graph.edges.find((e) => e.source === 'frontend' && e.target === 'checkout');
      assert.equal(fc?.requests, 6);
      assert.equal(fc?.failed, set.failed);
      assert.ok(fc !== undefined && fc.latencyP50Seconds !== null && fc.latencyP50Seconds > 0.064 && fc.latencyP50Seconds <= 0.128);
      assert.deepEqual(
        graph.nodes.map((n) => [n.id, n.virtual]),
        [
          ['checkout', false],
          ['frontend', false],
          ['orders', true],
          ['payments', true],
          ['user', true],
        ],
      );
    } finally {
      gen.stop();
    }
  });

  test('a partly refused push (OTLP partial success) counts only the spans the pusher accepted', async () => {
    const gen = createMetricsGenerator({ config: generatorConfig(), settings: () => BOTH, logger, multitenancy: false });
    try {
      const { set, batches } = await knownSetBatches(6);
      const keep = new Set(set.traceIds.slice(0, 2));
      // Refuses every span of the other traces, as the ingester's per-trace limits do, and names the kept ones.
      const inner: Pusher = {
        push: async (b) => {
          const accepted = b.spans.filter((s) => keep.has(s.traceId));
          return accepted.length === b.spans.length
            ? { rejectedSpans: 0, message: '' }
            : { rejectedSpans: b.spans.length - accepted.length, message: 'limits', accepted };
        },
      };
      const tapped = gen.tap(inner);
      for (const b of batches) await tapped.push(b);
      // A pusher that refuses spans without naming the kept ones: nothing of that push is counted.
      const vague = gen.tap({ push: async () => ({ rejectedSpans: 1, message: 'limits' }) });
      for (const b of batches) await vague.push(b);
      const text = gen.scrape(null, false);
      const calls = sampleValue(
        text,
        'traces_spanmetrics_calls_total{service="frontend",span_name="GET /checkout",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"}',
      );
      assert.equal(calls, 2);
    } finally {
      gen.stop();
    }
  });

  test('a tenant whose overrides name no processor costs nothing and shows nothing', async () => {
    const gen = createMetricsGenerator({ config: generatorConfig(), settings: () => ({ ...BOTH, processors: new Set() }), logger, multitenancy: false });
    await feedKnownSet(gen, 2);
    assert.equal(gen.scrape(null, false), '');
    gen.stop();
  });

  test('max_active_series caps the registry; refused series are counted', () => {
    const reg = new SeriesRegistry(40);
    const c = reg.counter('c_total', 'h', ['a']);
    const h = reg.histogram('h', 'h', ['a'], [1, 2]); // weight 5
    for (let i = 0; i < 100; i++) {
      c.add(String(i), [String(i)], 1, 0);
      h.observe(String(i), [String(i)], 0.5, 'ab', 0);
    }
    assert.ok(reg.stats.activeSeries <= 40);
    assert.equal(reg.stats.activeSeries, c.series.size + 5 * h.series.size);
    assert.ok(reg.stats.limited > 0);
    reg.removeStale(1);
    assert.equal(reg.stats.activeSeries, 0);
  });

  test('remote write encoding: sorted labels, samples, exemplars with the trace ID', () => {
    const reg = new SeriesRegistry(0);
    const h = reg.histogram('traces_spanmetrics_latency', 'h', ['service'], [0.1]);
    h.observe('svc', ['svc'], 0.05, '0123456789abcdef0123456789abcdef', 1000);
    const [w] = encodeRegistry(reg, [['cluster', 'x']], 2000, true, true);
    assert.ok(w);
    const series = decodeWriteRequest(snappy.uncompress(w.body));
    const bucket = series.find((s) => s.labels.includes('__name__=traces_spanmetrics_latency_bucket') && s.labels.includes('le=0.1'));
    assert.deepEqual(bucket?.labels, ['__name__=traces_spanmetrics_latency_bucket', 'cluster=x', 'le=0.1', 'service=svc']);
    assert.deepEqual(bucket?.samples, [
      [0, 1999],
      [1, 2000],
    ]);
    assert.deepEqual(bucket?.exemplars, ['traceID=0123456789abcdef0123456789abcdef']);
    // sent once: the next collection carries no exemplar and no initial zero
    const again = decodeWriteRequest(snappy.uncompress(encodeRegistry(reg, [], 3000, true, true)[0]!.body));
    assert.ok(again.every((s) => s.exemplars.length === 0 && s.samples.length === 1));
  });

  test('the remote-write queue stays inside its byte budget when the remote end is down, and counts drops', async () => {
    const port = await freePort(); // nothing listens there
    const q = new RemoteWriteQueue({
      config: {
        url: `http://127.0.0.1:${port}/api/v1/write`,
        headers: {},
        send_exemplars: false,
        remote_timeout: 1000,
        basic_auth: undefined,
        tls_config: undefined,
      },
      maxBytes: 10_000,
      addOrgIdHeader: true,
      logger,
    });
    try {
      for (let i = 0; i < 100; i++) {
        q.enqueue('t', { body: new Uint8Array(1000), samples: 10, exemplars: 0 });
        assert.ok(q.queuedBytes <= 10_000);
      }
      assert.ok(q.queuedBytes <= 10_000);
    } finally {
      q.stop();
    }
  });
});

interface DecodedSeries {
  labels: string[];
  samples: [number, number][];
  exemplars: string[];
}

/** Reads a WriteRequest back (test-side decoder, field numbers from the remote-write spec). */
function decodeWriteRequest(buf: Uint8Array): DecodedSeries[] {
  const out: DecodedSeries[] = [];
  const r = new WireReader(buf);
  const labelOf = (end: number): string => {
    let n = '';
    let v = '';
    while (r.pos < end) {
      const t = r.tag();
      if (t === ((1 << 3) | WIRE_LEN)) n = r.string();
      else if (t === ((2 << 3) | WIRE_LEN)) v = r.string();
      else r.skip(t & 7);
    }
    return `${n}=${v}`;
  };
  while (!r.eof()) {
    const t = r.tag();
    if (t !== ((1 << 3) | WIRE_LEN)) {
      r.skip(t & 7);
      continue;
    }
    const end = r.lenEnd();
    const s: DecodedSeries = { labels: [], samples: [], exemplars: [] };
    while (r.pos < end) {
      const st = r.tag();
      const e = r.lenEnd();
      if (st >>> 3 === 1) s.labels.push(labelOf(e));
      else if (st >>> 3 === 2) {
        let v = 0;
        let ts = 0;
        while (r.pos < e) {
          const ft = r.tag();
          if (ft >>> 3 === 1) v = r.double();
          else ts = r.varintNumber();
        }
        s.samples.push([v, ts]);
      } else if (st >>> 3 === 3) {
        while (r.pos < e) {
          const ft = r.tag();
          if (ft === ((1 << 3) | WIRE_LEN)) s.exemplars.push(labelOf(r.lenEnd()));
          else r.skip(ft & 7);
        }
      }
      r.pos = e;
    }
    out.push(s);
  }
  return out;
}
