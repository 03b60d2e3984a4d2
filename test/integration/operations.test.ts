import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { listBlocks } from '../../src/block/listing.js';
import { BLOCK_FILES, blockPath } from '../../src/block/meta.js';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { projectRoot, startRubato, type RubatoProcess } from '../support/rubato-process.js';
import { byTrace, exportSpans, makeExporter, recordTraces } from '../support/otel-traces.js';

let rubato: RubatoProcess;
let spanCount = 0;

before(async () => {
  rubato = await startRubato();
  await rubato.waitReady();
  const exporter = makeExporter('grpc', rubato);
  const traces = byTrace(await recordTraces(10, 'ops'));
  for (const t of traces) {
    assert.ok(await exportSpans(exporter, t));
    spanCount += t.length;
  }
  await exporter.shutdown();
  await fetch(`${rubato.url}/api/traces/${traces[0]![0]!.spanContext().traceId}`);
});
after(async () => {
  await rubato.stop();
  rubato.cleanup();
});

test('/metrics carries the four metrics our users alert on, with Tempo names', async () => {
  const live = await (await fetch(`${rubato.url}/metrics`)).text();
  assert.match(live, /^tempo_ingester_traces_created_total\{tenant="single-tenant"\} 10$/m);
  assert.match(live, /^tempo_request_duration_seconds_bucket\{.*route="api_traces_traceid".*\} \d+/m);
  assert.match(live, /^tempo_distributor_spans_received_total\{tenant="single-tenant"\} \d+/m);
  assert.match(live, /^tempo_distributor_bytes_received_total\{tenant="single-tenant"\} \d+/m);
  await new Promise((r) => setTimeout(r, 1500)); // one sweep refreshes the gauges
  assert.match(await (await fetch(`${rubato.url}/metrics`)).text(), /^tempo_ingester_live_traces\{tenant="single-tenant"\} \d+/m);
  assert.equal((await fetch(`${rubato.url}/flush`, { method: 'POST' })).status, 204);
  const after = await (await fetch(`${rubato.url}/metrics`)).text();
  assert.match(after, /^tempo_ingester_blocks_flushed_total\{tenant="single-tenant"\} 1$/m);
});

test('a flushed block is plain Parquet that DuckDB reads', async () => {
  await fetch(`${rubato.url}/flush`, { method: 'POST' });
  // Through the server's storage: on S3 the objects are downloaded to read them here.
  const files: string[] = [];
  for (const b of await listBlocks(rubato.storage, 'single-tenant')) {
    const key = blockPath('single-tenant', b.blockID, BLOCK_FILES.data);
    let file = rubato.storage.localPath(key);
    if (file === null) {
      file = join(rubato.dataDir, `${b.blockID}.parquet`);
      writeFileSync(file, (await rubato.storage.read(key))!);
    }
    files.push(file);
  }
  assert.ok(files.length >= 1);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const list = files.map((f) => `'${f}'`).join(', ');
  const rows = (
    await conn.runAndReadAll(`SELECT count(*)::INTEGER AS n, count(DISTINCT trace_id)::INTEGER AS t, min(service_name) AS s FROM read_parquet([${list}])`)
  ).getRowObjects();
  assert.deepEqual(rows[0], { n: spanCount, t: 10, s: 'ops' });
  conn.closeSync();
});

test('/ready, /status/config, /status/buildinfo, /api/echo', async () => {
  assert.equal(await (await fetch(`${rubato.url}/ready`)).text(), 'ready');
  const cfg = await (await fetch(`${rubato.url}/status/config`)).text();
  assert.match(cfg, /block_retention: 72h/);
  assert.match(cfg, /trace_idle_period: 1s/);
  const info = (await (await fetch(`${rubato.url}/status/buildinfo`)).json()) as { version: string };
  assert.ok(info.version.length > 0);
  assert.deepEqual(await (await fetch(`${rubato.url}/api/status/buildinfo`)).json(), info);
  assert.equal(await (await fetch(`${rubato.url}/api/echo`)).text(), 'echo');
});

test('a second server on the same ports says so and exits 1, and the first keeps serving', async () => {
  const second = spawnSync(process.execPath, [join(projectRoot, 'dist', 'src', 'main.js'), `-config.file=${join(rubato.dataDir, 'rubato.yaml')}`], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(second.status, 1);
  assert.match(second.stderr, /port is in use/);
  assert.equal((await fetch(`${rubato.url}/ready`)).status, 200);
});
