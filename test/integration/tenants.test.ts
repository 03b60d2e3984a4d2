// Tenant IDs on both ways in: a push and a query name the tenant in X-Scope-OrgID when multitenancy is
// on, and an ID that storage could not keep apart (a leading '.', a '/', too long) is refused with 400
// on both, rather than accepted and then lost.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { startRubato, type RubatoProcess } from '../support/rubato-process.js';
import { byTrace, recordTraces } from '../support/otel-traces.js';

let rubato: RubatoProcess;
before(async () => {
  rubato = await startRubato({ extraYaml: 'multitenancy_enabled: true' });
  await rubato.waitReady();
});
after(async () => {
  await rubato.stop();
  rubato.cleanup();
});

const push = (orgId: string | undefined, body: Uint8Array) =>
  fetch(`http://127.0.0.1:${rubato.otlpHttpPort}/v1/traces`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/x-protobuf', ...(orgId !== undefined ? { 'x-scope-orgid': orgId } : {}) },
  });

test('a tenant reads what it pushed; other tenants and a missing org ID do not', async () => {
  const spans = await recordTraces(1, 'tenants');
  const id = byTrace(spans)[0]![0]!.spanContext().traceId;
  assert.equal((await push('team-a', ProtobufTraceSerializer.serializeRequest(spans)!)).status, 200);
  assert.equal((await fetch(`${rubato.url}/api/traces/${id}`, { headers: { 'x-scope-orgid': 'team-a' } })).status, 200);
  assert.equal((await fetch(`${rubato.url}/api/traces/${id}`, { headers: { 'x-scope-orgid': 'team-b' } })).status, 404);
  assert.equal((await fetch(`${rubato.url}/api/traces/${id}`)).status, 401);
  assert.equal((await push(undefined, ProtobufTraceSerializer.serializeRequest(spans)!)).status, 401);
});

test('tenant IDs storage cannot keep apart are refused with 400 on push and on query', async () => {
  const body = ProtobufTraceSerializer.serializeRequest(await recordTraces(1, 'hidden'))!;
  for (const bad of ['.hidden', '..', 'a/b', 'x'.repeat(151)]) {
    const r = await push(bad, body);
    assert.equal(r.status, 400, bad);
    const q = await fetch(`${rubato.url}/api/search?q=${encodeURIComponent('{ }')}`, { headers: { 'x-scope-orgid': bad } });
    assert.equal(q.status, 400, bad);
    assert.match(await q.text(), /tenant ID/);
  }
});

test("a cross-tenant query (X-Scope-OrgID: a|b) reads each named tenant's traces, as Tempo's federation does", async () => {
  const spans = await recordTraces(1, 'federated');
  const id = byTrace(spans)[0]![0]!.spanContext().traceId;
  assert.equal((await push('fed-a', ProtobufTraceSerializer.serializeRequest(spans)!)).status, 200);
  for (const org of ['fed-a|fed-b', 'fed-b|fed-a', 'fed-a|fed-a']) {
    assert.equal((await fetch(`${rubato.url}/api/traces/${id}`, { headers: { 'x-scope-orgid': org } })).status, 200, org);
  }
  assert.equal((await fetch(`${rubato.url}/api/traces/${id}`, { headers: { 'x-scope-orgid': 'fed-b|fed-c' } })).status, 404);
  const r = await fetch(`${rubato.url}/api/v2/search/tag/resource.service.name/values`, { headers: { 'x-scope-orgid': 'fed-b|fed-a' } });
  assert.deepEqual(
    ((await r.json()) as { tagValues: { value: string }[] }).tagValues.map((v) => v.value),
    ['federated'],
  );
  // An empty tenant in the list is a bad ID; the service graph is single-tenant.
  assert.equal((await fetch(`${rubato.url}/api/search/tags`, { headers: { 'x-scope-orgid': 'fed-a|' } })).status, 400);
  assert.equal((await fetch(`${rubato.url}/api/service-graph`, { headers: { 'x-scope-orgid': 'fed-a|fed-b' } })).status, 400);
});
