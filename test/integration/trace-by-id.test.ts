import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startRubato, type RubatoProcess } from '../support/rubato-process.js';
import { makeExporter, sendTraces, traceIdsOf, type ExporterKind } from '../support/otel-traces.js';
import { assertSameTrace, type JsonResourceSpans } from '../support/compare.js';
import { decodeTrace } from '../../src/otlp/trace-decode.js';
import { traceToTempoJsonV1 } from '../../src/otlp/tempo-json.js';

/** Fetches a trace three ways (v1 JSON, v2 JSON, v2 protobuf) and checks each against what was sent. */
async function assertTraceServed(rubato: RubatoProcess, spans: readonly ReadableSpan[], traceId: string): Promise<void> {
  const expected = spans.filter((s) => s.spanContext().traceId === traceId);
  const v1 = await fetch(`${rubato.url}/api/traces/${traceId}`);
  assert.equal(v1.status, 200, `v1 ${traceId}`);
  const v1Body = (await v1.json()) as { batches: JsonResourceSpans[] };
  assertSameTrace(v1Body.batches, expected);

  const v2 = await fetch(`${rubato.url}/api/v2/traces/${traceId}`);
  assert.equal(v2.status, 200);
  const v2Body = (await v2.json()) as { trace: { resourceSpans: JsonResourceSpans[] } };
  assertSameTrace(v2Body.trace.resourceSpans, expected);

  const pb = await fetch(`${rubato.url}/api/traces/${traceId}`, { headers: { Accept: 'application/protobuf' } });
  assert.equal(pb.status, 200);
  assert.match(pb.headers.get('content-type') ?? '', /application\/protobuf/);
  const trace = decodeTrace(new Uint8Array(await pb.arrayBuffer()));
  const asJson = JSON.parse(JSON.stringify(traceToTempoJsonV1(trace))) as { batches: JsonResourceSpans[] };
  assertSameTrace(asJson.batches, expected);
}

describe('traces sent with the OpenTelemetry SDK come back span for span', () => {
  let rubato: RubatoProcess;
  const sent = new Map<ExporterKind, ReadableSpan[]>();
  const kinds: ExporterKind[] = ['grpc', 'grpc-gzip', 'http-proto', 'http-proto-gzip', 'http-json'];

  before(async () => {
    rubato = await startRubato();
    await rubato.waitReady();
    for (const kind of kinds) {
      sent.set(kind, await sendTraces(makeExporter(kind, rubato), 3, `svc-${kind}`));
    }
  });
  after(async () => {
    await rubato.stop();
    rubato.cleanup();
  });

  test('from live data, through v1, v2 and protobuf', async () => {
    for (const kind of kinds) {
      const spans = sent.get(kind)!;
      for (const id of traceIdsOf(spans)) await assertTraceServed(rubato, spans, id);
    }
  });

  test('after a block flush', async () => {
    const r = await fetch(`${rubato.url}/flush`, { method: 'POST' });
    assert.equal(r.status, 204);
    for (const kind of kinds) {
      const spans = sent.get(kind)!;
      for (const id of traceIdsOf(spans)) await assertTraceServed(rubato, spans, id);
    }
  });

  test('after a restart', async () => {
    assert.equal(await rubato.stop(), 0, rubato.output());
    rubato = await startRubato({ dataDir: rubato.dataDir });
    await rubato.waitReady();
    for (const kind of kinds) {
      const spans = sent.get(kind)!;
      for (const id of traceIdsOf(spans)) await assertTraceServed(rubato, spans, id);
    }
  });

  test('unknown IDs are 404, malformed IDs 400, short IDs are left-padded', async () => {
    assert.equal((await fetch(`${rubato.url}/api/traces/0123456789abcdef0123456789abcdef`)).status, 404);
    assert.equal((await fetch(`${rubato.url}/api/v2/traces/abc`)).status, 404);
    const bad = await fetch(`${rubato.url}/api/traces/not-a-trace-id`);
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /trace id/i);
    assert.equal((await fetch(`${rubato.url}/api/traces/${'f'.repeat(33)}`)).status, 400);
    const spans = sent.get('grpc')!;
    const id = traceIdsOf(spans)[0]!;
    const short = id.replace(/^0+/, '');
    if (short !== id) assert.equal((await fetch(`${rubato.url}/api/traces/${short}`)).status, 200);
  });
});
