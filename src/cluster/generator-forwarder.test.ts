// The distributor's forwarding to metrics generators: one push holding many traces is split so each
// trace reaches exactly the generator owning it (service graphs need a trace's spans together), and a
// down generator neither throws nor holds anything up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { decodeExportRequest } from '../otlp/decode-request.js';
import { registry } from '../metrics/registry.js';
import { ACCEPTED_ALL } from '../model/pusher.js';
import { recordTraces } from '../../test/support/otel-traces.js';
import { createGeneratorForwarder } from './generator-forwarder.js';
import { RingView, tokensFor, traceToken, type RingInstance } from './ring.js';

const gen = (id: string, heartbeatMs = Date.now()): RingInstance => ({ id, addr: id, httpAddr: id, state: 'ACTIVE', heartbeatMs, tokens: tokensFor(id, 128) });

async function pushOf(traces: number) {
  const bytes = ProtobufTraceSerializer.serializeRequest(await recordTraces(traces, 'fwd'));
  assert.ok(bytes);
  return decodeExportRequest(bytes, 'tenant-a');
}

const settle = () => new Promise((r) => setImmediate(r));

test('each trace of a push goes whole to the generator owning its token, once', async () => {
  const batch = await pushOf(30);
  const ring = new RingView([gen('g1'), gen('g2')]);
  const got = new Map<string, string[]>();
  const forward = createGeneratorForwarder({
    ring: () => ring,
    heartbeatTimeoutMs: 10_000,
    logger: pino({ level: 'silent' }),
    send: async (inst, tenant, payload) => {
      assert.equal(tenant, 'tenant-a');
      for (const s of decodeExportRequest(payload, tenant).spans) got.set(inst.id, [...(got.get(inst.id) ?? []), s.traceId]);
    },
  });
  forward(batch, ACCEPTED_ALL);
  await settle();
  assert.equal(got.size, 2, 'both generators own some of 30 traces');
  const all = [...got.values()].flat();
  assert.equal(all.length, batch.spans.length, 'every span forwarded once');
  for (const [id, traceIds] of got) {
    for (const t of traceIds) assert.equal(ring.replicasFor(traceToken('tenant-a', t), 1)[0]?.id, id, `trace ${t} at its owner`);
  }
});

test('only the accepted spans of a partly refused push are forwarded', async () => {
  const batch = await pushOf(4);
  const kept = batch.spans.slice(0, 3);
  const sent: number[] = [];
  const forward = createGeneratorForwarder({
    ring: () => new RingView([gen('g1')]),
    heartbeatTimeoutMs: 10_000,
    logger: pino({ level: 'silent' }),
    send: async (_i, tenant, payload) => void sent.push(decodeExportRequest(payload, tenant).spans.length),
  });
  forward(batch, { rejectedSpans: batch.spans.length - 3, message: 'limits', accepted: kept });
  await settle();
  assert.deepEqual(sent, [3]);
});

test('a failing or unhealthy generator is counted and logged, never thrown', async () => {
  const batch = await pushOf(10);
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
  const forward = createGeneratorForwarder({
    ring: () => new RingView([gen('up'), gen('stale', Date.now() - 60_000)]),
    heartbeatTimeoutMs: 10_000,
    logger,
    send: () => Promise.reject(new Error('connection refused')),
  });
  assert.doesNotThrow(() => forward(batch, ACCEPTED_ALL));
  await settle();
  await settle();
  assert.ok(lines.some((l) => l.includes('forwarding to the metrics generator failed')));
  const text = await registry.getSingleMetricAsString('tempo_distributor_metrics_generator_pushes_failures_total');
  assert.match(text, /metrics_generator="up"\} [1-9]/);
  assert.match(text, /metrics_generator="stale"\} [1-9]/);
});
