/**
 * The metrics generator against a real Prometheus: the known trace set goes into a real rubato
 * through the OpenTelemetry SDK exporters; Prometheus receives rubato's series by remote write (no
 * `job` label) and by scraping /metrics/generator (job="rubato-generator"). Both must hold the exact
 * call counts, histogram counts, service-graph edges (failures, a database, virtual nodes) and
 * exemplars pointing at the sent traces.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../support/ports.js';
import { makeExporter } from '../support/otel-traces.js';
import { startRubato, type RubatoProcess } from '../support/rubato-process.js';
import { prometheusAvailable, startPrometheus, type PrometheusProcess } from '../support/prometheus.js';
import { sendKnownSet, type KnownSet } from '../support/generator-traces.js';

const TRACES = 9;
const required = process.env['RUBATO_REQUIRE_PROMETHEUS'] === '1';
const available = prometheusAvailable();
if (!available && !required) console.log('# prometheus is not installed (Debian package "prometheus"): the generator/Prometheus tests are skipped');

describe('metrics generator with a real Prometheus', { skip: !available && !required ? 'prometheus not installed' : false }, () => {
  let rubato: RubatoProcess;
  let prom: PrometheusProcess;
  let set: KnownSet;
  const startS = Date.now() / 1000 - 60;

  before(async () => {
    if (!available) throw new Error('prometheus is not installed: apt-get install prometheus (see .ci/run)');
    const promPort = await freePort();
    rubato = await startRubato({
      extraYaml: [
        'metrics_generator:',
        '  processor:',
        '    service_graphs:',
        '      wait: 1s',
        '      enable_virtual_node_label: true',
        '  registry:',
        '    collection_interval: 1s',
        '  storage:',
        '    remote_write:',
        `      - url: http://127.0.0.1:${promPort}/api/v1/write`,
        '        send_exemplars: true',
        'overrides:',
        '  defaults:',
        '    metrics_generator:',
        '      processors: [service-graphs, span-metrics]',
      ].join('\n'),
    });
    await rubato.waitReady();
    prom = await startPrometheus(promPort, [{ job: 'rubato-generator', target: `127.0.0.1:${rubato.httpPort}`, path: '/metrics/generator' }]);
    // frontend over OTLP gRPC, checkout over OTLP HTTP/protobuf
    set = await sendKnownSet((service) => makeExporter(service === 'frontend' ? 'grpc' : 'http-proto', rubato), TRACES);
    // Wait for the last edges (virtual "user" → frontend after `wait`) to arrive by both ways.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const rw = await prom.query('sum(traces_service_graph_request_total{job="",client="user"})');
      const sc = await prom.query('sum(traces_service_graph_request_total{job="rubato-generator",client="user"})');
      if (rw[0]?.value === TRACES && sc[0]?.value === TRACES) break;
      if (Date.now() > deadline)
        throw new Error(
          `edges not in Prometheus after 60 s (remote write ${JSON.stringify(rw)}, scrape ${JSON.stringify(sc)})\nrubato:\n${rubato.output()}\nprometheus:\n${prom.output()}`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  });

  after(async () => {
    await prom?.stop();
    await rubato?.stop();
    rubato?.cleanup();
  });

  for (const [way, job] of [
    ['remote write', ''],
    ['scrape', 'rubato-generator'],
  ] as const) {
    test(`${way}: exact call counts per service and status`, async () => {
      const byService = await prom.query(`sum by (service) (traces_spanmetrics_calls_total{job="${job}"})`);
      const calls = Object.fromEntries(byService.map((r) => [r.metric['service'], r.value]));
      assert.deepEqual(calls, { frontend: 2 * TRACES, checkout: 3 * TRACES });
      const errors = await prom.query(
        `traces_spanmetrics_calls_total{job="${job}",service="checkout",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_ERROR"}`,
      );
      assert.equal(errors[0]?.value, set.failed);
    });

    test(`${way}: latency histogram counts and buckets`, async () => {
      const sel = `job="${job}",service="checkout",span_name="charge",span_kind="SPAN_KIND_CLIENT"`;
      assert.equal((await prom.query(`traces_spanmetrics_latency_count{${sel}}`))[0]?.value, TRACES);
      // the 30 ms charge spans are all above 0.016 s and at most 0.032 s
      assert.equal((await prom.query(`traces_spanmetrics_latency_bucket{${sel},le="0.016"}`))[0]?.value, 0);
      assert.equal((await prom.query(`traces_spanmetrics_latency_bucket{${sel},le="0.032"}`))[0]?.value, TRACES);
      const size = await prom.query(`traces_spanmetrics_size_total{${sel}}`);
      assert.ok((size[0]?.value ?? 0) > 0);
    });

    test(`${way}: service-graph edges with failures, a database and virtual nodes`, async () => {
      const edges = await prom.query(`traces_service_graph_request_total{job="${job}"}`);
      const got = Object.fromEntries(edges.map((r) => [`${r.metric['client']}->${r.metric['server']}:${r.metric['connection_type'] ?? ''}`, r.value]));
      assert.deepEqual(got, {
        'user->frontend:virtual_node': TRACES,
        'frontend->checkout:': TRACES,
        'checkout->orders:database': TRACES,
        'checkout->payments:virtual_node': TRACES,
      });
      const failed = await prom.query(`traces_service_graph_request_failed_total{job="${job}"}`);
      assert.deepEqual(
        failed.map((r) => [r.metric['client'], r.metric['server'], r.value]),
        [['frontend', 'checkout', set.failed]],
      );
      const server = await prom.query(`traces_service_graph_request_server_seconds_count{job="${job}",client="frontend",server="checkout"}`);
      assert.equal(server[0]?.value, TRACES);
      // 100 ms client spans (a hair more or less once nanosecond times pass through doubles): all at or below 0.2 s
      const client = async (le: string) =>
        (await prom.query(`traces_service_graph_request_client_seconds_bucket{job="${job}",client="frontend",server="checkout",le="${le}"}`))[0]?.value;
      assert.equal(await client('0.2'), TRACES);
      assert.equal(await client('+Inf'), TRACES);
    });

    test(`${way}: exemplars point at the sent traces`, async () => {
      const res = await prom.exemplars(`traces_spanmetrics_latency_bucket{job="${job}"}`, startS, Date.now() / 1000 + 60);
      const ids = res.flatMap((s) => s.exemplars.map((e) => e.labels['traceID']));
      assert.ok(ids.length > 0, 'some exemplars');
      for (const id of ids) assert.ok(id !== undefined && set.traceIds.includes(id), `exemplar trace ${id} is one of the sent traces`);
      const edgeEx = await prom.exemplars(`traces_service_graph_request_server_seconds_bucket{job="${job}",client="frontend"}`, startS, Date.now() / 1000 + 60);
      assert.ok(edgeEx.flatMap((s) => s.exemplars).length > 0, 'service-graph exemplars');
    });
  }

  test('/api/service-graph answers the same edges without Prometheus', async () => {
    const r = await fetch(`${rubato.url}/api/service-graph?start=${Math.floor(startS)}&end=${Math.ceil(Date.now() / 1000)}`);
    assert.equal(r.status, 200);
    const g = (await r.json()) as {
      nodes: { id: string; virtual: boolean }[];
      edges: { source: string; target: string; requests: number; failed: number; errorRate: number; latencyP50Seconds: number | null }[];
    };
    const fc = g.edges.find((e) => e.source === 'frontend' && e.target === 'checkout');
    assert.equal(fc?.requests, TRACES);
    assert.equal(fc?.failed, set.failed);
    assert.equal(fc?.errorRate, set.failed / TRACES);
    assert.ok(fc?.latencyP50Seconds !== null && fc?.latencyP50Seconds !== undefined && fc.latencyP50Seconds > 0);
    assert.deepEqual(
      g.nodes.filter((n) => n.virtual).map((n) => n.id),
      ['orders', 'payments', 'user'],
    );
    const bad = await fetch(`${rubato.url}/api/service-graph?start=abc`);
    assert.equal(bad.status, 400);
  });

  test('self metrics use Tempo names', async () => {
    const text = await (await fetch(`${rubato.url}/metrics`)).text();
    assert.match(text, new RegExp(`^tempo_metrics_generator_spans_received_total\\{tenant="single-tenant"\\} ${5 * TRACES}$`, 'm'));
    assert.match(text, /^tempo_metrics_generator_registry_active_series\{tenant="single-tenant"\} \d+$/m);
    assert.match(text, /^tempo_metrics_generator_remote_write_samples_sent_total\{url="http:\/\/127\.0\.0\.1:\d+\/api\/v1\/write"\} [1-9]\d*$/m);
  });
});
