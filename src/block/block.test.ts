import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { createLocalBackend } from '../backend/local.js';
import type { Trace } from '../model/trace.js';
import { decodeExportRequest } from '../otlp/decode-request.js';
import { decodeTrace } from '../otlp/trace-decode.js';
import { duckdbConnect, sqlString } from './duckdb.js';
import { BLOCK_FILES, blockPath } from './meta.js';
import { deleteBlock, listBlocks, listTenants } from './listing.js';
import { openBlock } from './encoding.js';
import { ParquetBlock } from './parquet-block.js';
import { SPAN_COLUMNS } from './schema.js';
import { syntheticTraces } from '../../test/support/synthetic-traces.js';
import type { TraceRecord } from '../model/trace-record.js';
import { writeBlock } from './writer.js';

let root: string;
let backend: Backend;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rubato-block-test-'));
  backend = createLocalBackend(root);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Spans of a trace in a canonical order (the block sorts spans by start time, not wire order). */
export function canonical(t: Trace): unknown[] {
  const out: { key: string; v: unknown }[] = [];
  for (const rs of t.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        out.push({
          key: Buffer.from(span.spanId).toString('hex'),
          v: { resource: rs.resource, rsSchema: rs.schemaUrl, scope: ss.scope, ssSchema: ss.schemaUrl, span },
        });
      }
    }
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : 1)).map((x) => x.v);
}

function payloads(bytes: Uint8Array): string[] {
  return decodeExportRequest(bytes, 't')
    .spans.map((s) => [s.resource, s.scope, s.span].map((b) => Buffer.from(b).toString('hex')).join('|'))
    .sort();
}

test('write → read round trip, DuckDB sees the columns, lookups and misses', async () => {
  const traces = syntheticTraces({ traces: 1000, spansPerTrace: 7, seed: 42 });
  async function* gen(): AsyncGenerator<TraceRecord> {
    yield* traces;
  }
  const meta = await writeBlock(backend, 'tenant-a', gen(), { rowGroupRows: 2048 });
  assert.equal(meta.format, 'rubato-parquet2');
  assert.equal(meta.tenantID, 'tenant-a');
  assert.equal(meta.totalObjects, 1000);
  assert.equal(meta.totalSpans, 7000);
  assert.equal(meta.minID, traces[0]!.traceId);
  assert.equal(meta.maxID, traces[traces.length - 1]!.traceId);
  assert.ok(meta.totalRecords >= 2, `row groups ${meta.totalRecords}`);
  assert.match(meta.blockID, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.ok(Date.parse(meta.startTime) <= Date.parse(meta.endTime));

  assert.deepEqual(await listTenants(backend), ['tenant-a']);
  const listed = await listBlocks(backend, 'tenant-a');
  assert.deepEqual(listed, [meta]);

  const reader = await openBlock(backend, meta);
  assert.ok(reader instanceof ParquetBlock);
  // The test reads the file itself to check the Parquet layout DuckDB sees.
  const path = backend.localPath(`tenant-a/${meta.blockID}/data.parquet`)!;
  for (const t of traces) assert.equal(reader.mayContain(t.traceId), true);
  // Every trace is checked byte-exact through traces() below; findTrace on a third of them keeps this fast.
  for (const t of traces.filter((_, i) => i % 3 === 0)) {
    const [found, ...more] = await reader.findTrace(t.traceId);
    assert.ok(found !== undefined && more.length === 0, t.traceId);
    assert.deepEqual(payloads(found), payloads(t.trace));
    assert.deepEqual(canonical(decodeTrace(found)), canonical(decodeTrace(t.trace)));
  }
  assert.deepEqual(await reader.findTrace('0'.repeat(32)), []);
  assert.deepEqual(await reader.findTrace('f'.repeat(32)), []);
  // An ID between existing ones: bloom may say yes, the index must say no.
  const between = traces[10]!.traceId.slice(0, 31) + (traces[10]!.traceId.endsWith('0') ? '1' : '0');
  if (!traces.some((t) => t.traceId === between)) assert.deepEqual(await reader.findTrace(between), []);

  const streamed: TraceRecord[] = [];
  for await (const r of reader.traces()) streamed.push(r);
  assert.deepEqual(
    streamed.map((r) => r.traceId),
    traces.map((t) => t.traceId),
  );
  for (let i = 0; i < traces.length; i++) {
    assert.deepEqual(payloads(streamed[i]!.trace), payloads(traces[i]!.trace));
    assert.deepEqual(canonical(decodeTrace(streamed[i]!.trace)), canonical(decodeTrace(traces[i]!.trace)));
  }

  const conn = await duckdbConnect();
  try {
    const desc = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(path)})`);
    const cols = desc.getRows().map((r) => [String(r[0]), String(r[1])]);
    assert.deepEqual(
      cols.map((c) => c[0]),
      SPAN_COLUMNS.map((c) => c[0]),
    );
    assert.equal(cols.find((c) => c[0] === 'span_attrs')?.[1], 'STRUCT("key" VARCHAR, "type" VARCHAR, str VARCHAR, "int" BIGINT, dbl DOUBLE, bool BOOLEAN)[]');
    const count = await conn.runAndReadAll(`SELECT count(*)::INTEGER, count(DISTINCT trace_id)::INTEGER FROM read_parquet(${sqlString(path)})`);
    assert.deepEqual(count.getRows()[0], [7000, 1000]);
    // keys.json lists exactly the attribute keys the data holds.
    const keysFile = JSON.parse((await backend.read(`tenant-a/${meta.blockID}/keys.json`))!.toString('utf8')) as { span: string[]; resource: string[] };
    for (const [scope, column] of [
      ['span', 'span_attrs'],
      ['resource', 'resource_attrs'],
    ] as const) {
      const r = await conn.runAndReadAll(`SELECT DISTINCT a.key FROM (SELECT unnest(${column}) AS a FROM read_parquet(${sqlString(path)})) ORDER BY 1`);
      assert.deepEqual(
        keysFile[scope],
        r.getRows().map((row) => String(row[0])),
      );
      assert.ok(keysFile[scope].length > 0);
    }
    // Sorted by trace ID, then start time.
    const sorted = await conn.runAndReadAll(
      `SELECT count(*)::INTEGER FROM (SELECT trace_id, start_unix_nano, lag(trace_id) OVER () AS pt, lag(start_unix_nano) OVER () AS ps
         FROM read_parquet(${sqlString(path)})) WHERE pt > trace_id OR (pt = trace_id AND ps > start_unix_nano)`,
    );
    assert.equal(sorted.getRows()[0]![0], 0);
    const t0 = traces[0]!.traceId;
    const rows = await conn.runAndReadAll(
      `SELECT span_id, parent_span_id, nested_left, nested_right, nested_parent, service_name, trace_root_service, trace_root_name,
              http_method, http_status_code, k8s_namespace_name, list_transform(span_attrs, a -> a.key) AS keys,
              [a.int FOR a IN span_attrs IF a.key = 'http.status_code'][1] AS code, event_names, link_count,
              duration_nano = end_unix_nano - start_unix_nano AS dur_ok, trace_duration_nano = trace_end_unix_nano - trace_start_unix_nano AS tdur_ok
         FROM read_parquet(${sqlString(path)}) WHERE trace_id = '${t0}'`,
    );
    const objs = rows.getRowObjectsJS();
    assert.equal(objs.length, 7);
    const root = objs.find((o) => o['parent_span_id'] === null)!;
    assert.equal(root['nested_left'], 1);
    assert.equal(root['nested_right'], 14);
    assert.equal(root['nested_parent'], -1);
    assert.equal(root['trace_root_name'], 'GET /');
    assert.equal(root['trace_root_service'], root['service_name']);
    const byId = new Map(objs.map((o) => [o['span_id'], o]));
    for (const o of objs) {
      assert.ok(['GET', 'POST'].includes(String(o['http_method'])));
      assert.equal(o['k8s_namespace_name'], 'prod');
      assert.equal(o['http_status_code'], Number(o['code']));
      assert.equal(o['dur_ok'], true);
      assert.equal(o['tdur_ok'], true);
      assert.ok((o['keys'] as string[]).includes('user.id'));
      if (o['parent_span_id'] !== null) {
        const p = byId.get(o['parent_span_id'])!;
        assert.equal(o['nested_parent'], p['nested_left']);
        assert.ok(Number(p['nested_left']) < Number(o['nested_left']) && Number(o['nested_right']) < Number(p['nested_right']));
      }
    }
  } finally {
    conn.closeSync();
  }
  await reader.close();

  await deleteBlock(backend, 'tenant-a', meta.blockID);
  assert.deepEqual(await listBlocks(backend, 'tenant-a'), []);
});

test('folders without meta.json are not blocks', async () => {
  const traces = syntheticTraces({ traces: 5, spansPerTrace: 2, seed: 7 });
  const meta = await writeBlock(backend, 'tenant-b', traces);
  await backend.write(blockPath('tenant-b', '00000000-0000-4000-8000-000000000000', BLOCK_FILES.data), Buffer.from('partial'));
  await backend.write(blockPath('tenant-b', '11111111-0000-4000-8000-000000000000', BLOCK_FILES.meta), Buffer.from('{oops'));
  assert.deepEqual(
    (await listBlocks(backend, 'tenant-b')).map((m) => m.blockID),
    [meta.blockID],
  );
});

test('unsorted input and empty input are rejected', async () => {
  const traces = syntheticTraces({ traces: 3, spansPerTrace: 1, seed: 9 });
  await assert.rejects(writeBlock(backend, 'tenant-c', [traces[1]!, traces[0]!]));
  await assert.rejects(writeBlock(backend, 'tenant-c', []));
  assert.deepEqual(await listBlocks(backend, 'tenant-c'), []);
});
