import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { startRubato, type RubatoProcess } from '../support/rubato-process.js';
import { byTrace, recordTraces } from '../support/otel-traces.js';

let rubato: RubatoProcess;

before(async () => {
  rubato = await startRubato({
    extraYaml: [
      'overrides:',
      '  defaults:',
      '    ingestion:',
      '      max_traces_per_user: 3',
      '      rate_limit_bytes: 200000',
      '      burst_size_bytes: 200000',
      '    global:',
      '      max_bytes_per_trace: 1500',
    ].join('\n'),
  });
  await rubato.waitReady();
});
after(async () => {
  await rubato.stop();
  rubato.cleanup();
});

const postJson = (body: Uint8Array) =>
  fetch(`http://127.0.0.1:${rubato.otlpHttpPort}/v1/traces`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

test('spans over max_bytes_per_trace and max_traces_per_user are refused as an OTLP partial success and counted', async () => {
  // 5 traces of 4 spans: only 3 live traces are allowed, and each trace is cut at 1500 bytes.
  const spans = await recordTraces(5, 'limits');
  const r = await postJson(JsonTraceSerializer.serializeRequest(spans)!);
  assert.equal(r.status, 200);
  const body = (await r.json()) as { partialSuccess?: { rejectedSpans: string; errorMessage: string } };
  assert.ok(body.partialSuccess, JSON.stringify(body));
  assert.ok(Number(body.partialSuccess.rejectedSpans) > 0);
  assert.match(body.partialSuccess.errorMessage, /LIVE_TRACES_EXCEEDED/);
  const metrics = await (await fetch(`${rubato.url}/metrics`)).text();
  assert.match(metrics, /^tempo_discarded_spans_total\{reason="live_traces_exceeded",tenant="single-tenant"\} \d+/m);
  const kept = byTrace(spans).slice(0, 3);
  for (const t of kept) {
    const res = await fetch(`${rubato.url}/api/traces/${t[0]!.spanContext().traceId}`);
    assert.equal(res.status, 200);
  }
});

test('past the ingestion rate limit the answer is 429 with Retry-After', async () => {
  const big = await recordTraces(300, 'flood');
  const body = JsonTraceSerializer.serializeRequest(big)!;
  assert.ok(body.length > 200000, `body ${body.length}`);
  const r = await postJson(body);
  assert.equal(r.status, 429);
  assert.ok(r.headers.get('retry-after'));
  assert.match(await r.text(), /RATE_LIMITED/);
});
