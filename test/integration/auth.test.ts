// Access control (auth.enabled) and cross-tenant queries against a real server, with the OpenTelemetry
// SDK exporters sending: receivers refuse pushes without a write token for the tenant (HTTP 401/403,
// gRPC UNAUTHENTICATED/PERMISSION_DENIED), the API answers 401/403, and a token for tenant a cannot
// read tenant b's data by trace ID, search, tags, tag values or metrics, also not through `a|b`;
// a token for both reads both through `a|b`, a trace split across them merged.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, loadPackageDefinition, Metadata, status, type Client, type ClientReadableStream } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as HttpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { projectRoot, startRubato, type RubatoProcess } from '../support/rubato-process.js';
import { hashToken } from '../../src/auth/token-hash.js';

const T = {
  pushA: 'push-a-0123456789abcdef0123',
  pushAll: 'push-all-0123456789abcdef01',
  readA: 'read-a-0123456789abcdef0123',
  readAB: 'read-ab-0123456789abcdef012',
  readB: 'read-b-from-file-0123456789',
  later: 'later-from-file-0123456789a',
} as const;

/** Spans of one trace per call: a server root and a client child, with a tenant-specific attribute key. */
async function record(service: string, attrKey: string): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('auth-it');
  const root = tracer.startSpan('GET /orders', { kind: SpanKind.SERVER, attributes: { [attrKey]: `${service}-value` } });
  const child = tracer.startSpan('SELECT', { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, root));
  child.end();
  root.end();
  await provider.forceFlush();
  const spans = memory.getFinishedSpans().slice();
  await provider.shutdown();
  return spans;
}

interface Sent {
  ok: boolean;
  /** gRPC status code or HTTP status of a refusal. */
  code?: number;
}

function send(exporter: SpanExporter, spans: ReadableSpan[]): Promise<Sent> {
  return new Promise((resolve) =>
    exporter.export(spans, (r) => {
      const code = (r.error as { code?: unknown } | undefined)?.code;
      resolve({ ok: r.code === 0, ...(typeof code === 'number' ? { code } : {}) });
      void exporter.shutdown();
    }),
  );
}

function grpcExporter(rubato: RubatoProcess, tenant: string, token?: string): SpanExporter {
  const md = new Metadata();
  md.set('x-scope-orgid', tenant);
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  return new GrpcExporter({ url: `http://127.0.0.1:${rubato.grpcPort}`, metadata: md });
}

function httpExporter(rubato: RubatoProcess, tenant: string, token?: string): SpanExporter {
  return new HttpProtoExporter({
    url: `http://127.0.0.1:${rubato.otlpHttpPort}/v1/traces`,
    headers: { 'X-Scope-OrgID': tenant, ...(token !== undefined ? { Authorization: `Bearer ${token}` } : {}) },
  });
}

const idOf = (spans: readonly ReadableSpan[]): string => spans[0]!.spanContext().traceId;

describe('access control and cross-tenant queries', () => {
  let rubato: RubatoProcess;
  let tokensDir: string;
  let tokensFile: string;
  let alpha: ReadableSpan[];
  let beta: ReadableSpan[];
  let split: ReadableSpan[];
  const startS = Math.floor(Date.now() / 1000) - 600;

  before(async () => {
    tokensDir = mkdtempSync(join(tmpdir(), 'rubato-auth-'));
    tokensFile = join(tokensDir, 'tokens');
    writeFileSync(tokensFile, `# name hash rights tenants\nread-b ${hashToken(T.readB)} read b\n`);
    const token = (name: string, t: string, rights: string, tenants: string) =>
      `    - { name: ${name}, hash: "${hashToken(t)}", rights: [${rights}], tenants: [${tenants}] }`;
    rubato = await startRubato({
      extraYaml: [
        'multitenancy_enabled: true',
        // Grafana's streaming gRPC shares the API port and its checks.
        'stream_over_http_enabled: true',
        'auth:',
        '  enabled: true',
        `  tokens_file: ${tokensFile}`,
        '  tokens_file_period: 200ms',
        '  tokens:',
        token('push-a', T.pushA, 'write', 'a'),
        token('push-all', T.pushAll, 'write', '"*"'),
        token('read-a', T.readA, 'read', 'a'),
        token('read-ab', T.readAB, 'read', 'a, b'),
      ].join('\n'),
    });
    await rubato.waitReady();
    alpha = await record('svc-alpha', 'alpha.only');
    beta = await record('svc-beta', 'beta.only');
    split = await record('svc-split', 'split.key');
    assert.deepEqual(await send(grpcExporter(rubato, 'a', T.pushA), alpha), { ok: true });
    assert.deepEqual(await send(httpExporter(rubato, 'b', T.pushAll), beta), { ok: true });
    // One trace, its root in tenant a and its child in tenant b.
    assert.deepEqual(
      await send(
        grpcExporter(rubato, 'a', T.pushAll),
        split.filter((s) => s.kind === SpanKind.SERVER),
      ),
      { ok: true },
    );
    assert.deepEqual(
      await send(
        httpExporter(rubato, 'b', T.pushAll),
        split.filter((s) => s.kind === SpanKind.CLIENT),
      ),
      { ok: true },
    );
  });
  after(async () => {
    await rubato.stop();
    rubato.cleanup();
    rmSync(tokensDir, { recursive: true, force: true });
  });

  const get = (path: string, orgId: string | undefined, token: string | undefined, extra: Record<string, string> = {}) =>
    fetch(`${rubato.url}${path}`, {
      headers: { ...(orgId !== undefined ? { 'X-Scope-OrgID': orgId } : {}), ...(token !== undefined ? { Authorization: `Bearer ${token}` } : {}), ...extra },
    });
  async function json<T>(path: string, orgId: string, token: string): Promise<T> {
    const r = await get(path, orgId, token);
    const text = await r.text();
    assert.equal(r.status, 200, `${path} as ${orgId}: ${text}`);
    return JSON.parse(text) as T;
  }
  const searchIds = async (orgId: string, token: string): Promise<string[]> =>
    (await json<{ traces: { traceID: string }[] }>(`/api/search?q=${encodeURIComponent('{ }')}&start=${startS}&end=${startS + 1200}`, orgId, token)).traces
      .map((t) => t.traceID.replace(/^0+/, ''))
      .sort();
  const serviceValues = async (orgId: string, token: string): Promise<string[]> =>
    (await json<{ tagValues: { value: string }[] }>('/api/v2/search/tag/resource.service.name/values', orgId, token)).tagValues.map((v) => v.value).sort();
  const spanTags = async (orgId: string, token: string): Promise<string[]> =>
    (await json<{ scopes: { name: string; tags: string[] }[] }>('/api/v2/search/tags?scope=span', orgId, token)).scopes.flatMap((s) => s.tags).sort();
  const spanCount = async (orgId: string, token: string): Promise<number> => {
    const q = encodeURIComponent('{ } | count_over_time()');
    const body = await json<{ series: { samples: { value?: number }[] }[] }>(
      `/api/metrics/query_range?q=${q}&start=${startS}&end=${startS + 1200}&step=60s`,
      orgId,
      token,
    );
    return body.series.flatMap((s) => s.samples).reduce((n, x) => n + (x.value ?? 0), 0);
  };
  // Trace IDs compared without leading zeros (Tempo leaves them out of search answers).
  const shown = (spans: readonly ReadableSpan[]): string => idOf(spans).replace(/^0+/, '');

  test('receivers refuse pushes without a write token for the tenant, and take them with one', async () => {
    const spans = await record('svc-refused', 'refused.key');
    assert.deepEqual(await send(grpcExporter(rubato, 'a'), spans), { ok: false, code: 16 }, 'gRPC without token: UNAUTHENTICATED');
    assert.deepEqual(await send(grpcExporter(rubato, 'a', 'not-a-known-token-at-all'), spans), { ok: false, code: 16 }, 'gRPC unknown token');
    assert.deepEqual(await send(grpcExporter(rubato, 'a', T.readAB), spans), { ok: false, code: 7 }, 'gRPC read token: PERMISSION_DENIED');
    assert.deepEqual(await send(grpcExporter(rubato, 'b', T.pushA), spans), { ok: false, code: 7 }, 'gRPC token for another tenant');
    assert.deepEqual(await send(httpExporter(rubato, 'a'), spans), { ok: false, code: 401 }, 'HTTP without token');
    assert.deepEqual(await send(httpExporter(rubato, 'a', T.readA), spans), { ok: false, code: 403 }, 'HTTP read token');
    assert.deepEqual(await send(httpExporter(rubato, 'b', T.pushA), spans), { ok: false, code: 403 }, 'HTTP token for another tenant');
    const r = await fetch(`http://127.0.0.1:${rubato.otlpHttpPort}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-scope-orgid': 'a' },
      body: '{}',
    });
    assert.equal(r.status, 401);
    assert.match(await r.text(), /authentication required/);
    // Nothing refused was stored.
    assert.deepEqual(await serviceValues('a|b', T.readAB), ['svc-alpha', 'svc-beta', 'svc-split']);
  });

  test('the API answers 401 without a token, 403 without the read right or the tenant', async () => {
    const path = `/api/search?q=${encodeURIComponent('{ }')}`;
    const none = await get(path, 'a', undefined);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.match(await none.text(), /authentication required/);
    assert.equal((await get(path, 'a', 'wrong-token-0123456789abcdef')).status, 401);
    const write = await get(path, 'a', T.pushAll);
    assert.equal(write.status, 403);
    assert.match(await write.text(), /no read right/);
    for (const org of ['b', 'a|b', 'b|a', 'a|c']) {
      const r = await get(path, org, T.readA);
      assert.equal(r.status, 403, org);
      assert.match(await r.text(), /has no access to tenant "(b|c)"/);
    }
    for (const p of [
      `/api/traces/${idOf(beta)}`,
      '/api/v2/search/tags',
      '/api/search/tags',
      '/api/search/tag/service.name/values',
      '/api/v2/search/tag/resource.service.name/values',
    ]) {
      assert.equal((await get(p, 'b', T.readA)).status, 403, p);
      assert.equal((await get(p, 'a|b', T.readA)).status, 403, p);
      assert.equal((await get(p, 'a', undefined)).status, 401, p);
    }
    assert.equal((await get(`/api/metrics/query_range?q=${encodeURIComponent('{ } | rate()')}`, 'a|b', T.readA)).status, 403);
    // Probes, operations and the UI's static pages stay open.
    for (const p of ['/ready', '/metrics', '/api/echo', '/status/buildinfo']) assert.equal((await get(p, undefined, undefined)).status, 200, p);
    // The UI page (503 when the UI was not built) needs no token either.
    assert.ok(![401, 403].includes((await get('/', undefined, undefined)).status));
  });

  test('a token for tenant a reads nothing of tenant b: trace by ID, search, tags, tag values, metrics', async () => {
    assert.equal((await get(`/api/traces/${idOf(alpha)}`, 'a', T.readA)).status, 200);
    assert.equal((await get(`/api/traces/${idOf(beta)}`, 'a', T.readA)).status, 404, "b's trace is not found as tenant a");
    assert.equal((await get(`/api/v2/traces/${idOf(beta)}`, 'a', T.readA)).status, 404);
    const splitAsA = await json<{ batches: { scopeSpans: { spans: unknown[] }[] }[] }>(`/api/traces/${idOf(split)}`, 'a', T.readA);
    assert.equal(splitAsA.batches.flatMap((b) => b.scopeSpans.flatMap((s) => s.spans)).length, 1, "only tenant a's part of the split trace");
    assert.deepEqual(await searchIds('a', T.readA), [shown(alpha), shown(split)].sort());
    assert.deepEqual(await serviceValues('a', T.readA), ['svc-alpha', 'svc-split']);
    const tags = await spanTags('a', T.readA);
    assert.ok(tags.includes('alpha.only') && !tags.includes('beta.only'), tags.join(','));
    assert.equal(await spanCount('a', T.readA), 3, "alpha's two spans and the split trace's root");
  });

  test('a|b with a token for both returns both tenants, a split trace merged', async () => {
    const both = await json<{ batches: { scopeSpans: { spans: { spanId: string }[] }[] }[] }>(`/api/traces/${idOf(split)}`, 'a|b', T.readAB);
    assert.equal(both.batches.flatMap((b) => b.scopeSpans.flatMap((s) => s.spans)).length, 2, 'both parts of the split trace');
    assert.equal((await get(`/api/traces/${idOf(alpha)}`, 'a|b', T.readAB)).status, 200, "a's trace through a|b");
    assert.equal((await get(`/api/v2/traces/${idOf(beta)}`, 'b|a', T.readAB)).status, 200, "b's trace through b|a");
    assert.deepEqual(await searchIds('a|b', T.readAB), [shown(alpha), shown(beta), shown(split)].sort());
    assert.deepEqual(await serviceValues('a|b', T.readAB), ['svc-alpha', 'svc-beta', 'svc-split']);
    const tags = await spanTags('a|b', T.readAB);
    assert.ok(tags.includes('alpha.only') && tags.includes('beta.only'), tags.join(','));
    assert.equal(await spanCount('a|b', T.readAB), 6);
    assert.equal(await spanCount('b', T.readAB), 3);
  });

  test('Grafana basic auth (token as password) and the custom header are accepted', async () => {
    const basic = `Basic ${Buffer.from(`grafana:${T.readA}`).toString('base64')}`;
    assert.equal((await get(`/api/traces/${idOf(alpha)}`, 'a', undefined, { Authorization: basic })).status, 200);
    assert.equal((await get(`/api/traces/${idOf(alpha)}`, 'a', undefined, { 'X-Rubato-Token': T.readA })).status, 200);
  });

  test('tokens from the tokens file work, and a token added to it works without a restart', async () => {
    assert.equal((await get(`/api/traces/${idOf(beta)}`, 'b', T.readB)).status, 200);
    assert.equal((await get(`/api/traces/${idOf(alpha)}`, 'a', T.readB)).status, 403);
    assert.equal((await get(`/api/traces/${idOf(alpha)}`, 'a', T.later)).status, 401);
    appendFileSync(tokensFile, `later ${hashToken(T.later)} read *\n`);
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await get(`/api/traces/${idOf(alpha)}`, 'a', T.later)).status;
    }
    assert.equal(status, 200);
  });

  test('refusals are counted in rubato_auth_denied_total by reason and surface', async () => {
    const text = await (await fetch(`${rubato.url}/metrics`)).text();
    const count = (labels: string): number => Number(new RegExp(`rubato_auth_denied_total\\{${labels}\\} (\\d+)`).exec(text)?.[1] ?? 0);
    assert.ok(count('reason="missing_token",surface="api"') > 0, text);
    assert.ok(count('reason="tenant",surface="api"') > 0);
    assert.ok(count('reason="missing_right",surface="api"') > 0);
    assert.ok(count('reason="missing_token",surface="otlp_grpc"') > 0);
    assert.ok(count('reason="missing_right",surface="otlp_grpc"') > 0);
    assert.ok(count('reason="tenant",surface="otlp_http"') > 0);
    assert.ok(count('reason="unknown_token",surface="otlp_grpc"') > 0);
  });
  test("Grafana's streaming gRPC on the API port asks for the same token and tenants", async () => {
    const def = loadSync(join(projectRoot, 'test', 'support', 'streaming-querier.proto'), { defaults: true });
    const pkg = loadPackageDefinition(def) as unknown as {
      tempopb: {
        StreamingQuerier: new (
          addr: string,
          creds: ReturnType<typeof credentials.createInsecure>,
        ) => Client & Record<string, (req: object, md: Metadata) => ClientReadableStream<{ tagNames: string[] }>>;
      };
    };
    const client = new pkg.tempopb.StreamingQuerier(`127.0.0.1:${rubato.httpPort}`, credentials.createInsecure());
    const call = (orgId: string, token: string | undefined): Promise<{ code: number; names: string[] }> => {
      const md = new Metadata();
      md.set('x-scope-orgid', orgId);
      if (token !== undefined) md.set('authorization', `Bearer ${token}`);
      return new Promise((resolve) => {
        const names: string[] = [];
        const c = client.SearchTags!({}, md);
        c.on('data', (m: { tagNames: string[] }) => names.push(...m.tagNames));
        c.on('error', (err: { code: number }) => resolve({ code: err.code, names }));
        c.on('status', (st: { code: number }) => {
          if (st.code === status.OK) resolve({ code: st.code, names });
        });
      });
    };
    try {
      assert.equal((await call('a', undefined)).code, status.UNAUTHENTICATED);
      assert.equal((await call('b', T.readA)).code, status.PERMISSION_DENIED);
      assert.equal((await call('a|b', T.readA)).code, status.PERMISSION_DENIED);
      assert.equal((await call('a', T.pushA)).code, status.PERMISSION_DENIED, 'a write token cannot read');
      const own = await call('a', T.readA);
      assert.equal(own.code, status.OK);
      assert.ok(own.names.includes('alpha.only') && !own.names.includes('beta.only'), JSON.stringify(own.names));
      const both = await call('a|b', T.readAB);
      assert.equal(both.code, status.OK);
      assert.ok(both.names.includes('alpha.only') && both.names.includes('beta.only'), JSON.stringify(both.names));
    } finally {
      client.close();
    }
  });
});
