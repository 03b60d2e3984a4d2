// A query cannot hold the server: every search runs under querier.search.query_timeout (504 when it
// passes, DuckDB interrupted), and a search collects at most query_frontend.search.max_response_bytes
// of results whatever `limit` asks. Internal errors answer without paths or SQL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { startRubato, type RubatoProcess } from '../support/rubato-process.js';
import { recordTraces } from '../support/otel-traces.js';

const TRACES = 1500;

async function loaded(extraYaml: string): Promise<RubatoProcess> {
  const rubato = await startRubato({ extraYaml });
  await rubato.waitReady();
  const spans = await recordTraces(TRACES, 'bounds');
  for (let i = 0; i < spans.length; i += 2000) {
    const body = ProtobufTraceSerializer.serializeRequest(spans.slice(i, i + 2000))!;
    const r = await fetch(`http://127.0.0.1:${rubato.otlpHttpPort}/v1/traces`, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
    assert.equal(r.status, 200);
  }
  return rubato;
}

describe('a search past its deadline', () => {
  let rubato: RubatoProcess;
  before(async () => {
    rubato = await loaded(['querier:', '  search:', '    query_timeout: 1ms'].join('\n'));
    // In a block, so the deadline has a DuckDB scan to interrupt.
    assert.equal((await fetch(`${rubato.url}/flush`, { method: 'POST' })).status, 204);
  });
  after(async () => {
    await rubato.stop();
    rubato.cleanup();
  });

  test('answers 504 naming the setting, is counted, and the server keeps serving', async () => {
    const r = await fetch(`${rubato.url}/api/search?q=${encodeURIComponent('{ span.nope = "x" || name =~ ".*z.*" }')}&limit=100000`);
    assert.equal(r.status, 504);
    assert.match(await r.text(), /querier\.search\.query_timeout/);
    const tags = await fetch(`${rubato.url}/api/v2/search/tag/name/values?q=${encodeURIComponent('{ name =~ ".*" }')}`);
    assert.ok([200, 504].includes(tags.status));
    const metrics = await (await fetch(`${rubato.url}/metrics`)).text();
    assert.match(metrics, /^rubato_query_timeouts_total\{route="api_search"\} [1-9]/m);
    assert.equal((await fetch(`${rubato.url}/api/echo`)).status, 200);
  });
});

describe('a search asking for everything', () => {
  let rubato: RubatoProcess;
  before(async () => {
    rubato = await loaded(['query_frontend:', '  search:', '    max_response_bytes: 20000', '    max_spans_per_span_set: 5'].join('\n'));
  });
  after(async () => {
    await rubato.stop();
    rubato.cleanup();
  });

  test('collects at most max_response_bytes of results and caps spans per span set', async () => {
    const r = await fetch(`${rubato.url}/api/search?q=${encodeURIComponent('{ }')}&limit=1000000000&spss=1000`);
    assert.equal(r.status, 200);
    const body = (await r.json()) as { traces: { spanSets: { spans: unknown[] }[] }[] };
    assert.ok(body.traces.length > 0 && body.traces.length < TRACES, `got ${body.traces.length} traces`);
    for (const t of body.traces) for (const ss of t.spanSets) assert.ok(ss.spans.length <= 5);
    const metrics = await (await fetch(`${rubato.url}/metrics`)).text();
    assert.match(metrics, /^rubato_search_truncated_total [1-9]/m);
  });

  test('a start..end longer than query_frontend.search.max_duration is refused', async () => {
    const r = await fetch(`${rubato.url}/api/search?q=${encodeURIComponent('{ }')}&start=1000&end=${1000 + 200 * 3600}`);
    assert.equal(r.status, 400);
    assert.match(await r.text(), /exceeds 168h0m0s/);
  });
});
