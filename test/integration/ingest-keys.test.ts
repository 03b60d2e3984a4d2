/**
 * Config keys of the write path that were parsed but ignored, now honoured by a real server process:
 * distributor.max_attribute_bytes (a 3.9 MB attribute is cut, and counted), the OTLP/HTTP receiver's
 * own body limit (max_request_body_size, no longer the gRPC receiver's), and
 * overrides.per_tenant_override_period (the overrides file is re-read; a bad file keeps the last good
 * overrides, logged and counted).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { startRubato, type RubatoProcess } from '../support/rubato-process.js';
import { exportTraces, ResultRecordingExporter } from '../support/receiver-fixtures.js';

const PAYLOAD = 'test.payload';

/** Sends one trace whose root carries a `payloadBytes`-long attribute; its ID, or null when the export failed. */
async function sendOne(exporter: SpanExporter, payloadBytes: number): Promise<string | null> {
  const recording = new ResultRecordingExporter(exporter);
  try {
    const [id] = await exportTraces(recording, 1, 1, payloadBytes);
    return recording.results.every((r) => r.code === 0) ? (id ?? null) : null;
  } catch {
    return null;
  }
}

/** Finds an attribute's string value anywhere in a trace's JSON. */
function findAttribute(node: unknown, key: string): string | undefined {
  if (Array.isArray(node)) {
    for (const n of node) {
      const v = findAttribute(n, key);
      if (v !== undefined) return v;
    }
    return undefined;
  }
  if (node === null || typeof node !== 'object') return undefined;
  const o = node as { key?: unknown; value?: { stringValue?: unknown } };
  if (o.key === key && typeof o.value?.stringValue === 'string') return o.value.stringValue;
  for (const v of Object.values(node)) {
    const found = findAttribute(v, key);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Length of the stored payload attribute of trace `id`, once the trace is readable. */
async function storedPayloadLength(rubato: RubatoProcess, id: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${rubato.url}/api/traces/${id}`);
    if (r.status === 200) {
      const value = findAttribute(await r.json(), PAYLOAD);
      assert.ok(value !== undefined, 'payload attribute stored');
      return value.length;
    }
    await r.arrayBuffer();
    await new Promise((res) => setTimeout(res, 200));
  }
  assert.fail(`trace ${id} not readable`);
}

async function metric(rubato: RubatoProcess, re: RegExp): Promise<number | undefined> {
  const m = re.exec(await (await fetch(`${rubato.url}/metrics`)).text());
  return m === null ? undefined : Number(m[1]);
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`${what}: not within ${timeoutMs} ms`);
}

describe('write-path limits with their own keys', () => {
  let rubato: RubatoProcess;

  before(async () => {
    // OTLP/HTTP bodies capped at 1 MiB while the gRPC receiver keeps its 4 MiB; max_attribute_bytes at its default (2048).
    rubato = await startRubato({ otlpHttp: ['max_request_body_size: 1048576'] });
    await rubato.waitReady();
  });

  after(async () => {
    await rubato?.stop();
    rubato?.cleanup();
  });

  test('a 3.9 MB attribute is cut to max_attribute_bytes (2048 by default) and counted', async () => {
    const id = await sendOne(new GrpcExporter({ url: `http://127.0.0.1:${rubato.grpcPort}` }), 3_900_000);
    assert.ok(id !== null, 'export accepted');
    assert.equal(await storedPayloadLength(rubato, id), 2048);
    assert.equal(await metric(rubato, /^tempo_distributor_attributes_truncated_total\{tenant="single-tenant",scope="span"\} (\d+)/m), 1);
  });

  test('the OTLP/HTTP body limit is max_request_body_size, not the gRPC max_recv_msg_size_mib', async () => {
    const http = new ProtoExporter({ url: `http://127.0.0.1:${rubato.otlpHttpPort}/v1/traces`, timeoutMillis: 10_000 });
    assert.equal(await sendOne(http, 2_000_000), null, '2 MB over HTTP is above its 1 MiB limit');
    assert.ok((await sendOne(new ProtoExporter({ url: `http://127.0.0.1:${rubato.otlpHttpPort}/v1/traces` }), 500_000)) !== null, '0.5 MB over HTTP fits');
    assert.ok((await sendOne(new GrpcExporter({ url: `http://127.0.0.1:${rubato.grpcPort}` }), 2_000_000)) !== null, '2 MB over gRPC fits its 4 MiB');
    assert.ok(((await metric(rubato, /^rubato_receiver_refused_requests_total\{transport="http",reason="too_large"\} (\d+)/m)) ?? 0) >= 1);
  });
});

describe('overrides.per_tenant_override_period', () => {
  let dir: string;
  let overridesFile: string;
  let rubato: RubatoProcess;
  const limitTo = (bytes: number): string => `overrides:\n  "single-tenant":\n    ingestion:\n      max_attribute_bytes: ${bytes}\n`;
  const exporter = (): SpanExporter => new GrpcExporter({ url: `http://127.0.0.1:${rubato.grpcPort}` });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rubato-overrides-'));
    overridesFile = join(dir, 'overrides.yaml');
    writeFileSync(overridesFile, limitTo(100));
    rubato = await startRubato({
      extraYaml: `overrides:\n  per_tenant_override_config: ${overridesFile}\n  per_tenant_override_period: 1s\n`,
    });
    await rubato.waitReady();
  });

  after(async () => {
    await rubato?.stop();
    rubato?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a changed overrides file is put in force without a restart', async () => {
    const first = await sendOne(exporter(), 1000);
    assert.ok(first !== null);
    assert.equal(await storedPayloadLength(rubato, first), 100, "the tenant's override from the file at start");

    writeFileSync(overridesFile, limitTo(500));
    await eventually('a new trace is cut at the new limit', async () => {
      const id = await sendOne(exporter(), 1000);
      return id !== null && (await storedPayloadLength(rubato, id)) === 500;
    });
    assert.match(rubato.output(), /per-tenant overrides reloaded/);
  });

  test('a bad overrides file keeps the last good overrides, logs the error and counts it', async () => {
    writeFileSync(overridesFile, 'overrides:\n  "single-tenant":\n    ingestion:\n      max_attribute_bytes: lots\n');
    await eventually('the failed reload is counted', async () => ((await metric(rubato, /^rubato_overrides_reload_failures_total (\d+)/m)) ?? 0) >= 1);
    assert.equal(await metric(rubato, /^tempo_runtime_config_last_reload_successful (\d+)/m), 0);
    assert.match(rubato.output(), /per-tenant overrides file not reloaded; the last good overrides stay in force/);
    assert.match(rubato.output(), /max_attribute_bytes/);
    const id = await sendOne(exporter(), 1000);
    assert.ok(id !== null);
    assert.equal(await storedPayloadLength(rubato, id), 500, 'the last good overrides are still in force');

    writeFileSync(overridesFile, limitTo(300));
    await eventually('a good file is taken again', async () => (await metric(rubato, /^tempo_runtime_config_last_reload_successful (\d+)/m)) === 1);
  });
});
