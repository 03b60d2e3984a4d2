import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import snappy from 'snappyjs';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { loadConfig, type MetricsGeneratorConfig } from '../config/load.js';
import { decodeExportRequest } from '../otlp/decode-request.js';
import { SINGLE_TENANT } from '../model/tenant.js';
import { ACCEPTED_ALL, type Pusher } from '../model/pusher.js';
import { registry } from '../metrics/registry.js';
import { createMetricsGenerator } from './generator.js';
import { RemoteWriteQueue } from './remote-queue.js';

const logger = pino({ level: 'silent' });
const SPAN_METRICS = { processors: new Set(['span-metrics'] as const), maxActiveSeries: 0, collectionIntervalMs: 60_000 };

function generatorConfig(yaml: string): MetricsGeneratorConfig {
  const dir = mkdtempSync(join(tmpdir(), 'gen-cfg-'));
  try {
    writeFileSync(join(dir, 'c.yaml'), yaml);
    return loadConfig([`-config.file=${join(dir, 'c.yaml')}`], {}).config.metrics_generator;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Spans of one service as an encoded ExportTraceServiceRequest. */
async function encoded(build: (tracer: ReturnType<BasicTracerProvider['getTracer']>) => void): Promise<Uint8Array> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'shop', 'service.namespace': 'prod', 'service.instance.id': 'shop-1', 'k8s.pod.name': 'shop-abc' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  build(provider.getTracer('t'));
  await provider.forceFlush();
  const bytes = ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans());
  assert.ok(bytes);
  return bytes;
}

function lines(text: string, prefix: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(prefix));
}

describe('span-metrics options', () => {
  test('dimensions, dimension_mappings, filter_policies and traces_target_info', async () => {
    const cfg = generatorConfig(
      [
        'metrics_generator:',
        '  processor:',
        '    span_metrics:',
        '      dimensions: [http.method, k8s.pod.name]',
        '      dimension_mappings:',
        '        - { name: route, source_labels: [http.method, http.route], join: " " }',
        '      enable_target_info: true',
        '      filter_policies:',
        '        - exclude: { match_type: regex, attributes: [{ key: name, value: "^health" }] }',
        '        - include: { match_type: strict, attributes: [{ key: kind, value: SPAN_KIND_SERVER }] }',
      ].join('\n'),
    );
    const gen = createMetricsGenerator({ config: cfg, settings: () => SPAN_METRICS, logger, multitenancy: false });
    const bytes = await encoded((t) => {
      for (let i = 0; i < 3; i++)
        t.startSpan('GET /items', { kind: SpanKind.SERVER, attributes: { 'http.method': 'GET', 'http.route': '/items' } }, ROOT_CONTEXT).end();
      t.startSpan('healthz', { kind: SpanKind.SERVER }, ROOT_CONTEXT).end();
      t.startSpan('SELECT', { kind: SpanKind.CLIENT }, ROOT_CONTEXT).end();
    });
    gen.consume(decodeExportRequest(bytes, SINGLE_TENANT));
    const text = gen.scrape(null, false);
    assert.deepEqual(lines(text, 'traces_spanmetrics_calls_total{'), [
      'traces_spanmetrics_calls_total{service="shop",span_name="GET /items",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET",http_method="GET",k8s_pod_name="shop-abc",route="GET /items"} 3',
    ]);
    assert.deepEqual(lines(text, 'traces_target_info{'), ['traces_target_info{job="prod/shop",instance="shop-1",k8s_pod_name="shop-abc"} 1']);
    gen.stop();
  });

  test('status_message as a dimension, errors counted by status code', async () => {
    const cfg = generatorConfig('metrics_generator:\n  processor:\n    span_metrics:\n      intrinsic_dimensions: { status_message: true }\n');
    const gen = createMetricsGenerator({ config: cfg, settings: () => SPAN_METRICS, logger, multitenancy: false });
    const bytes = await encoded((t) => {
      const s = t.startSpan('pay', { kind: SpanKind.SERVER }, ROOT_CONTEXT);
      s.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
      s.end();
    });
    gen.consume(decodeExportRequest(bytes, SINGLE_TENANT));
    assert.deepEqual(lines(gen.scrape(null, false), 'traces_spanmetrics_calls_total{'), [
      'traces_spanmetrics_calls_total{service="shop",span_name="pay",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_ERROR",status_message="card declined"} 1',
    ]);
    gen.stop();
  });
});

describe('the push path is never held up by the generator', () => {
  test('garbage span bytes: the push resolves as the inner pusher says, the error is counted', async () => {
    const gen = createMetricsGenerator({ config: generatorConfig(''), settings: () => SPAN_METRICS, logger, multitenancy: false });
    const inner: Pusher = { push: async () => ACCEPTED_ALL };
    const garbage = new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    const batch = {
      tenant: 'broken',
      spans: [
        { traceId: '0'.repeat(32), span: garbage, resource: new Uint8Array(0), scope: new Uint8Array(0), startNs: Date.now() * 1e6, endNs: Date.now() * 1e6 },
      ],
      payload: garbage,
      byteSize: garbage.length,
    };
    assert.equal(await gen.tap(inner).push(batch), ACCEPTED_ALL);
    assert.match(await registry.metrics(), /^tempo_metrics_generator_push_errors_total\{tenant="broken"\} 1$/m);
    gen.stop();
  });

  test('a refused push is not counted by the generator', async () => {
    const gen = createMetricsGenerator({ config: generatorConfig(''), settings: () => SPAN_METRICS, logger, multitenancy: false });
    const bytes = await encoded((t) => t.startSpan('x', {}, ROOT_CONTEXT).end());
    const refusing: Pusher = { push: async () => Promise.reject(new Error('rate limited')) };
    await assert.rejects(gen.tap(refusing).push(decodeExportRequest(bytes, SINGLE_TENANT)), /rate limited/);
    assert.equal(gen.scrape(null, false), '');
    gen.stop();
  });
});

describe('remote-write queue', () => {
  test('retries a failing endpoint with backoff until it accepts; a 400 is dropped, not retried', async () => {
    const seen: { status: number; encoding: string | undefined; version: string | undefined; org: string | undefined; body: Buffer }[] = [];
    let answers = [503, 500, 200, 400];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const status = answers.shift() ?? 200;
        seen.push({
          status,
          encoding: req.headers['content-encoding'],
          version: req.headers['x-prometheus-remote-write-version'] as string | undefined,
          org: req.headers['x-scope-orgid'] as string | undefined,
          body: Buffer.concat(chunks),
        });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const q = new RemoteWriteQueue({
      config: {
        url: `http://127.0.0.1:${port}/api/v1/write`,
        headers: { 'X-Extra': 'yes' },
        send_exemplars: false,
        remote_timeout: 5000,
        basic_auth: undefined,
        tls_config: undefined,
      },
      maxBytes: 1 << 20,
      addOrgIdHeader: true,
      logger,
    });
    try {
      const body = snappy.compress(new Uint8Array([1, 2, 3]));
      q.enqueue('team-a', { body, samples: 1, exemplars: 0 });
      q.enqueue('team-a', { body, samples: 1, exemplars: 0 });
      const deadline = Date.now() + 10_000;
      while (seen.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(
        seen.map((s) => s.status),
        [503, 500, 200, 400],
      );
      assert.equal(seen[0]?.encoding, 'snappy');
      assert.equal(seen[0]?.version, '0.1.0');
      assert.equal(seen[0]?.org, 'team-a');
      assert.equal(q.queuedBytes, 0);
      answers = [];
    } finally {
      q.stop();
      await new Promise((r) => server.close(r));
    }
  });
});
