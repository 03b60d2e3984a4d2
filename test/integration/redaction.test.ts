// Redaction at ingest, end to end: spans carrying secrets go in through the OpenTelemetry SDK
// exporters (gRPC and HTTP/protobuf, two tenants); afterwards no secret is in the WAL, the head block
// files, the flushed blocks (read back with DuckDB: the Parquet pages are compressed), nor in any API
// answer (trace by ID v1/v2/protobuf, search, tags, tag values, TraceQL metrics, the generator's
// series). A canary attribute no rule covers is found in each of those places, so the search for the
// secrets would have found them. Equal inputs hash equally; a tenant's own rules apply to it only; a
// bad rule stops start-up naming its key.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import { DuckDBInstance } from '@duckdb/node-api';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as HttpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { projectRoot, startRubato, type RubatoProcess } from '../support/rubato-process.js';
import { ALL_SECRETS, CANARY, HASH_KEY, secretRulesYaml, sendSecretTrace } from '../support/secret-spans.js';

const KEY_ENV = 'RUBATO_TEST_REDACTION_KEY';
const TENANTS = ['team-a', 'team-b'] as const;

/** Every string in `text` that is a secret. */
function leaked(text: string): string[] {
  return ALL_SECRETS.filter((s) => text.includes(s));
}

function filesUnder(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) filesUnder(p, out);
    else out.push(p);
  }
  return out;
}

describe('redaction at ingest', () => {
  let rubato: RubatoProcess;
  let dir: string;
  const sent = new Map<string, ReadableSpan[]>();
  const traceId = (tenant: string): string => sent.get(tenant)![0]!.spanContext().traceId;
  const h = (tenant: string) => ({ 'x-scope-orgid': tenant });
  const get = async (tenant: string, path: string, accept?: string): Promise<string> => {
    const r = await fetch(`${rubato.url}${path}`, { headers: { ...h(tenant), ...(accept !== undefined ? { accept } : {}) } });
    const body = Buffer.from(await r.arrayBuffer()).toString('latin1');
    assert.equal(r.status, 200, `${path}: ${body}`);
    return body;
  };

  /** Every API answer, for one tenant, concatenated. */
  async function apiAnswers(tenant: string): Promise<string> {
    const id = traceId(tenant);
    const end = Math.ceil(Date.now() / 1000) + 60;
    const start = end - 3600;
    const q = (s: string) => encodeURIComponent(s);
    const parts = [
      await get(tenant, `/api/traces/${id}`),
      await get(tenant, `/api/v2/traces/${id}`),
      await get(tenant, `/api/traces/${id}`, 'application/protobuf'),
      await get(tenant, `/api/search?q=${q('{ }')}&spss=100&start=${start}&end=${end}`),
      await get(tenant, `/api/search?q=${q('{ }')}`, 'application/protobuf'),
      await get(tenant, '/api/search/tags'),
      await get(tenant, '/api/v2/search/tags'),
    ];
    const keys = [
      'resource.deployment.owner',
      'resource.host.ip',
      'resource.cloud.api_secret',
      'span.payment.card',
      'span.enduser.email',
      'span.http.request.header.authorization',
      'span.auth.jwt',
      'span.client.address',
      'span.user.ssn',
      'span.db.statement',
      'span.db.password',
      'event.event.card',
      'event.event.email',
      'link.link.token',
      'link.link.peer',
      'name',
    ];
    for (const key of keys) parts.push(await get(tenant, `/api/v2/search/tag/${key}/values`));
    for (const key of ['enduser.email', 'db.statement', 'payment.card', 'name']) parts.push(await get(tenant, `/api/search/tag/${key}/values`));
    for (const by of ['span.enduser.email', 'name', 'span.db.statement', 'resource.host.ip']) {
      parts.push(await get(tenant, `/api/metrics/query_range?q=${q(`{ } | count_over_time() by (${by})`)}&start=${start}&end=${end}&step=60s`));
      parts.push(await get(tenant, `/api/metrics/query?q=${q(`{ } | count_over_time() by (${by})`)}&start=${start}&end=${end}`));
    }
    parts.push(await get(tenant, '/metrics/generator'));
    return parts.join('\n');
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rubato-redaction-'));
    const perTenant = join(dir, 'overrides.yaml');
    // team-b adds a rule of its own: its routes are masked, team-a's are not.
    writeFileSync(perTenant, 'overrides:\n  team-b:\n    redaction:\n      rules:\n        - keys: [http.route]\n          action: mask\n');
    rubato = await startRubato({
      env: { [KEY_ENV]: HASH_KEY },
      extraYaml: [
        'multitenancy_enabled: true',
        'metrics_generator:',
        '  registry:',
        '    collection_interval: 1s',
        '  processor:',
        '    span_metrics:',
        '      dimensions: [enduser.email, http.request.header.authorization, db.statement]',
        'overrides:',
        `  per_tenant_override_config: ${perTenant}`,
        '  defaults:',
        '    metrics_generator:',
        '      processors: [span-metrics]',
        '    redaction:',
        `      hash_key_env: ${KEY_ENV}`,
        '      rules:',
        secretRulesYaml('        '),
      ].join('\n'),
    });
    await rubato.waitReady();
    const metadata = new Metadata();
    metadata.set('x-scope-orgid', 'team-a');
    const grpc = new GrpcExporter({ url: `http://127.0.0.1:${rubato.grpcPort}`, metadata });
    sent.set('team-a', await sendSecretTrace(grpc));
    await grpc.shutdown();
    const http = new HttpProtoExporter({ url: `http://127.0.0.1:${rubato.otlpHttpPort}/v1/traces`, headers: h('team-b') });
    sent.set('team-b', await sendSecretTrace(http));
    await http.shutdown();
    for (const tenant of TENANTS) assert.equal(sent.get(tenant)!.length, 3);
  });

  after(async () => {
    await rubato.stop();
    rubato.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the WAL and the head block files hold no secret (the canary is there)', async () => {
    for (const tenant of TENANTS) await get(tenant, `/api/traces/${traceId(tenant)}`);
    const files = filesUnder(join(rubato.dataDir, 'wal'));
    let all = '';
    for (const f of files) {
      const text = readFileSync(f).toString('latin1');
      assert.deepEqual(leaked(text), [], f);
      all += text;
    }
    assert.ok(all.includes(CANARY), 'the canary is in the WAL');
    assert.ok(
      files.some((f) => f.includes(`${join('wal', 'head')}`)),
      `head block files: ${files.join(', ')}`,
    );
  });

  test('no API answer holds a secret, from recent data', async () => {
    for (const tenant of TENANTS) {
      const text = await apiAnswers(tenant);
      assert.deepEqual(leaked(text), [], tenant);
      assert.ok(text.includes(CANARY), 'the canary is in the answers');
      // The generator saw the spans (an e-mail dimension), after redaction.
      assert.match(await get(tenant, '/metrics/generator'), /enduser_email="hmac:[0-9a-f]{16}"/);
    }
  });

  test('equal values hash equally (resource, span, event, span name, both tenants); masks keep what they are told to', async () => {
    const hashes = new Set<string>();
    for (const tenant of TENANTS) {
      const v2 = JSON.parse(await get(tenant, `/api/v2/traces/${traceId(tenant)}`)) as {
        trace: { resourceSpans: { resource: { attributes: Attr[] }; scopeSpans: { spans: JsonSpan[] }[] }[] };
      };
      const rs = v2.trace.resourceSpans[0]!;
      const spans = rs.scopeSpans.flatMap((s) => s.spans);
      const root = spans.find((s) => s.name.startsWith('notify '))!;
      const db = spans.find((s) => s.name === 'UPDATE users')!;
      const email = str(root.attributes, 'enduser.email');
      assert.match(email, /^hmac:[0-9a-f]{16}$/);
      assert.equal(str(rs.resource.attributes, 'deployment.owner'), email);
      assert.equal(str(db.attributes, 'db.user.email'), email);
      assert.equal(str(db.events![0]!.attributes, 'event.email'), email);
      assert.equal(root.name, `notify ${email}`);
      assert.equal(str(root.attributes, 'payment.card'), '****1111');
      assert.equal(str(db.attributes, 'db.statement'), 'UPDATE users SET password = ? WHERE id = ?');
      assert.equal(
        root.attributes.find((a) => a.key === 'user.ssn'),
        undefined,
      );
      hashes.add(email);
      // team-b's own rule, and only team-b's.
      assert.equal(str(root.attributes, 'http.route'), tenant === 'team-b' ? '****' : '/pay');
    }
    assert.equal(hashes.size, 1, 'the same key hashes the same e-mail the same for both tenants');
    const metrics = await (await fetch(`${rubato.url}/metrics`)).text();
    assert.match(metrics, /^rubato_redaction_applied_total\{tenant="team-b",rule="secret-keys"\} \d+$/m);
    assert.match(metrics, /^rubato_redaction_applied_total\{tenant="team-b",rule="team-b\[0\]"\} 1$/m);
    assert.doesNotMatch(metrics, /rubato_redaction_applied_total\{tenant="team-a",rule="team-b/);
  });

  test('after a flush: no secret in the blocks (read with DuckDB) nor in the answers from blocks', async () => {
    assert.equal((await fetch(`${rubato.url}/flush`, { method: 'POST' })).status, 204);
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
      for (const tenant of TENANTS) {
        const keys: string[] = [];
        for (const block of await rubato.storage.list(tenant))
          for (const name of await rubato.storage.list(`${tenant}/${block}`)) keys.push(`${tenant}/${block}/${name}`);
        const parquet = keys.filter((k) => k.endsWith('data.parquet'));
        assert.ok(parquet.length >= 1, `a block for ${tenant}: ${keys.join(', ')}`);
        for (const key of keys) {
          const bytes = await rubato.storage.read(key);
          assert.ok(bytes !== null, key);
          assert.deepEqual(leaked(Buffer.from(bytes).toString('latin1')), [], key);
          if (!key.endsWith('data.parquet')) continue;
          const file = join(dir, `${tenant}-${parquet.indexOf(key)}.parquet`);
          writeFileSync(file, bytes);
          const reader = await conn.runAndReadAll(`SELECT * FROM read_parquet('${file}')`);
          const text = reader
            .getRows()
            .flat()
            .map((v) => cellText(v))
            .join('\n');
          assert.deepEqual(leaked(text), [], `${key} (decompressed)`);
          assert.ok(text.includes(CANARY), `the canary is in ${key}`);
        }
      }
    } finally {
      conn.closeSync();
    }
    for (const tenant of TENANTS) assert.deepEqual(leaked(await apiAnswers(tenant)), [], tenant);
  });
});

interface Attr {
  key: string;
  value: { stringValue?: string };
}
interface JsonSpan {
  name: string;
  attributes: Attr[];
  events?: { attributes: Attr[] }[];
}

function str(attrs: readonly Attr[], key: string): string {
  const v = attrs.find((a) => a.key === key)?.value.stringValue;
  assert.ok(v !== undefined, `attribute ${key}`);
  return v;
}

/** A DuckDB cell as text; blobs (the encoded spans) as their bytes, so strings inside them show. */
function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object' && 'bytes' in v && v.bytes instanceof Uint8Array) return Buffer.from(v.bytes).toString('latin1');
  if (typeof v === 'object' && 'items' in v && Array.isArray(v.items)) return v.items.map(cellText).join('\n');
  if (typeof v === 'object' && 'entries' in v && Array.isArray(v.entries)) return v.entries.map((e: unknown) => cellText(e)).join('\n');
  if (typeof v === 'object' && 'key' in v && 'value' in v) return `${cellText(v.key)}=${cellText(v.value)}`;
  if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype) return Object.values(v).map(cellText).join('\n');
  return String(v);
}

describe('redaction rules that cannot work stop start-up', () => {
  const start = (overrides: string, perTenant?: string): { status: number | null; stderr: string } => {
    const dir = mkdtempSync(join(tmpdir(), 'rubato-redaction-bad-'));
    try {
      const extra = perTenant !== undefined ? `  per_tenant_override_config: ${join(dir, 'o.yaml')}\n` : '';
      if (perTenant !== undefined) writeFileSync(join(dir, 'o.yaml'), perTenant);
      writeFileSync(
        join(dir, 'c.yaml'),
        `server:\n  http_listen_port: 0\nstorage:\n  trace:\n    local:\n      path: ${join(dir, 't')}\n    wal:\n      path: ${join(dir, 'w')}\noverrides:\n${extra}  defaults:\n    redaction:\n${overrides}\n`,
      );
      const r = spawnSync(process.execPath, [join(projectRoot, 'dist', 'src', 'main.js'), `-config.file=${join(dir, 'c.yaml')}`], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      return { status: r.status, stderr: r.stderr };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  test('a pattern RE2 refuses', () => {
    const r = start('      rules:\n        - key_pattern: "(?<=pass)word"\n          action: drop');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^failed parsing config: .*overrides\.defaults\.redaction\.rules\.0\.key_pattern: invalid RE2 pattern/m);
  });

  test('an unknown action, in the per-tenant file', () => {
    const r = start('      rules: []', 'overrides:\n  team-x:\n    redaction:\n      rules:\n        - keys: [password]\n          action: erase\n');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /overrides\.team-x\.redaction\.rules\.0\.action: expected one of drop, mask, hash, got "erase"/);
  });

  test('a hash rule without a key', () => {
    const r = start('      rules:\n        - keys: [password]\n          action: hash');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /overrides\.defaults\.redaction\.hash_key: hash rules need a key/);
  });
});
