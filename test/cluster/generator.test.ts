// -target=metrics-generator end to end: etcd, MinIO, 1 distributor, 1 ingester, 1 querier and 2
// metrics generators on loopback, a real Prometheus scraping both generators and receiving their
// remote write. Traces of two services go in through the OpenTelemetry SDK exporter; span metrics and
// service-graph edges, summed over the generators, must equal what was sent, each trace counted once
// by one generator — including when one push carries many traces. Then one generator is killed:
// pushes are still acknowledged and every trace still reads back. No timing asserts: bounded polls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { startCluster, etcdBinary, waitFor, type Cluster, type ClusterNode } from '../support/cluster.js';
import { assertSameTrace, type JsonResourceSpans } from '../support/compare.js';
import { sendKnownSet } from '../support/generator-traces.js';
import { minioBinary } from '../support/minio.js';
import { byTrace, exportSpans, makeExporter, recordTraces } from '../support/otel-traces.js';
import { freePort } from '../support/ports.js';
import { prometheusAvailable, startPrometheus, type PrometheusProcess } from '../support/prometheus.js';

const missing = etcdBinary() === null || minioBinary() === null || !prometheusAvailable();
const required = process.env['RUBATO_REQUIRE_CLUSTER'] === '1' || process.env['CI'] === 'true';
const skip = missing && !required ? 'etcd, MinIO or prometheus not installed (bash .ci/run installs them)' : false;

const TRACES = 16;
const SCRAPED = 'job=~"generator-.+"';
const REMOTE = 'job=""';

/** Sum of one series family in a generator's /metrics/generator. */
async function scrapedSum(node: ClusterNode, name: string): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics/generator`)).text();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\S+)`, 'gm'))) sum += Number(m[1]);
  return sum;
}

async function selfMetric(node: ClusterNode, name: string): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'gm'))) sum += Number(m[1]);
  return sum;
}

/**
 * Collects every span the SDK hands it and exports them in ONE request when shut down, as a batching
 * processor does: one push then holds the frontend spans of every trace.
 */
function oneRequestExporter(inner: SpanExporter): SpanExporter {
  const held: ReadableSpan[] = [];
  return {
    export(spans, done) {
      held.push(...spans);
      done({ code: 0 }); // ExportResultCode.SUCCESS
    },
    async shutdown() {
      assert.ok(await exportSpans(inner, held.splice(0)), 'the batched frontend push acknowledged');
      await inner.shutdown();
    },
  };
}

test('cluster: two metrics generators, each trace counted once, edges whole, Prometheus totals; a dead generator refuses nothing', {
  skip,
  timeout: 600_000,
}, async () => {
  let cluster: Cluster | null = null;
  let prom: PrometheusProcess | null = null;
  const log = (m: string): void => void process.stderr.write(`# ${new Date().toISOString()} ${m}\n`);
  try {
    const promPort = await freePort();
    cluster = await startCluster({
      replicationFactor: 1,
      topLevel: [
        'metrics_generator:',
        '  processor:',
        '    service_graphs:',
        '      wait: 1s',
        '      enable_virtual_node_label: true',
        '  registry:',
        '    collection_interval: 1s',
        // Each generator's series carry its ID: two generators writing one series would overwrite each other.
        '    external_labels:',
        '      generator: ${INSTANCE_ID}',
        '  storage:',
        '    remote_write:',
        `      - url: http://127.0.0.1:${promPort}/api/v1/write`,
        'overrides:',
        '  defaults:',
        '    metrics_generator:',
        '      processors: [service-graphs, span-metrics]',
      ],
    });
    const c = cluster;
    const ingester = await c.add('ingester', 'ingester-1');
    await ingester.waitReady();
    const generators = await Promise.all(['generator-1', 'generator-2'].map((id) => c.add('metrics-generator', id)));
    const [distributor, querier] = await Promise.all([c.add('distributor', 'distributor-1'), c.add('querier', 'querier-1')]);
    await Promise.all([...generators, distributor, querier].map((n) => n.waitReady()));
    await waitFor('the distributor sees 2 healthy ACTIVE generators', async () => {
      const r = await fetch(`${distributor.url}/ring`, { headers: { accept: 'application/json' } });
      const rows = ((await r.json()) as { instances: { ring: string; state: string; healthy: boolean }[] }).instances;
      return rows.filter((x) => x.ring === 'metrics-generator' && x.state === 'ACTIVE' && x.healthy).length === 2;
    });
    prom = await startPrometheus(
      promPort,
      generators.map((g) => ({ job: g.id, target: `127.0.0.1:${g.httpPort}`, path: '/metrics/generator' })),
    );
    log('cluster and prometheus up');

    // frontend: every span of every trace in one push; checkout: one push per span (all in flight at once).
    const ports = { grpcPort: distributor.otlpGrpcPort, otlpHttpPort: 0 };
    const perSpan = () => new OTLPTraceExporter({ url: `http://127.0.0.1:${ports.grpcPort}`, concurrencyLimit: 10 * TRACES });
    const set = await sendKnownSet((service) => (service === 'frontend' ? oneRequestExporter(makeExporter('grpc', ports)) : perSpan()), TRACES);
    log(`sent ${TRACES} traces`);

    const p = prom;
    for (const sel of [SCRAPED, REMOTE]) {
      await waitFor(
        `every edge in Prometheus (${sel})`,
        async () => (await p.query(`sum(traces_service_graph_request_total{${sel},client="user"})`))[0]?.value === TRACES,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}\nprometheus:\n${p.output()}`);
      });
    }
    log('edges arrived in prometheus');

    // Each generator got part of the traces; together every span exactly once.
    const received = await Promise.all(generators.map((g) => selfMetric(g, 'tempo_metrics_generator_spans_received_total')));
    assert.ok(
      received.every((n) => n > 0),
      `both generators got traces (${received.join(', ')})`,
    );
    assert.equal(
      received.reduce((a, b) => a + b, 0),
      5 * TRACES,
      'every span reached one generator once',
    );
    const calls = await Promise.all(generators.map((g) => scrapedSum(g, 'traces_spanmetrics_calls_total')));
    assert.equal(
      calls.reduce((a, b) => a + b, 0),
      5 * TRACES,
      `span calls over both generators (${calls.join(' + ')})`,
    );

    for (const sel of [SCRAPED, REMOTE]) {
      const byService = await p.query(`sum by (service) (traces_spanmetrics_calls_total{${sel}})`);
      assert.deepEqual(Object.fromEntries(byService.map((r) => [r.metric['service'], r.value])), { frontend: 2 * TRACES, checkout: 3 * TRACES }, sel);
      const errors = await p.query(`sum(traces_spanmetrics_calls_total{${sel},service="checkout",status_code="STATUS_CODE_ERROR"})`);
      assert.equal(errors[0]?.value, set.failed, sel);
      const latency = await p.query(`sum(traces_spanmetrics_latency_count{${sel},span_name="charge"})`);
      assert.equal(latency[0]?.value, TRACES, sel);
      // A trace whose client and server spans went to different generators would leave its edge unpaired.
      const edges = await p.query(`sum by (client, server) (traces_service_graph_request_total{${sel}})`);
      assert.deepEqual(
        Object.fromEntries(edges.map((r) => [`${r.metric['client']}->${r.metric['server']}`, r.value])),
        { 'user->frontend': TRACES, 'frontend->checkout': TRACES, 'checkout->orders': TRACES, 'checkout->payments': TRACES },
        sel,
      );
      const failed = await p.query(`sum(traces_service_graph_request_failed_total{${sel},client="frontend",server="checkout"})`);
      assert.equal(failed[0]?.value, set.failed, sel);
    }
    const perGenerator = await p.query(`sum by (generator) (traces_spanmetrics_calls_total{${REMOTE}})`);
    assert.equal(perGenerator.length, 2, 'remote write from both generators, told apart by their external label');
    log('span metrics and service graphs checked');

    // One generator dies: pushes are still acknowledged and read back; the forward to it is counted as failed.
    const victim = generators[1]!;
    await victim.kill();
    const exporter = makeExporter('grpc', ports);
    const late = byTrace(await recordTraces(20, 'after-generator-death'));
    for (const spans of late) assert.ok(await exportSpans(exporter, spans), 'push acknowledged with a generator down');
    await exporter.shutdown();
    for (const spans of late) {
      const r = await fetch(`${querier.url}/api/traces/${spans[0]!.spanContext().traceId}`);
      assert.equal(r.status, 200);
      assertSameTrace(((await r.json()) as { batches: JsonResourceSpans[] }).batches, spans);
    }
    await waitFor('the failed forwards counted', async () => {
      const text = await (await fetch(`${distributor.url}/metrics`)).text();
      return new RegExp(`^tempo_distributor_metrics_generator_pushes_failures_total\\{metrics_generator="${victim.id}"\\} [1-9]`, 'm').test(text);
    });
    log('pushes with a dead generator acknowledged and read back');
  } catch (err) {
    if (cluster !== null) for (const n of cluster.nodes) process.stderr.write(`--- ${n.id} ---\n${n.output().slice(-3000)}\n`);
    throw err;
  } finally {
    await prom?.stop();
    await cluster?.stopAll();
  }
});
