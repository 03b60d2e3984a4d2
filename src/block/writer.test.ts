import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBAppender } from '@duckdb/node-api';
import type { Backend } from '../backend/backend.js';
import { createLocalBackend } from '../backend/local.js';
import { WireWriter } from '../otlp/wire.js';
import { duckdbConnect, sqlString } from './duckdb.js';
import { listBlocks, listIncompleteBlocks, listTenants } from './listing.js';
import { ATTR_STRUCT, SPAN_COLUMNS, type SpanRow } from './schema.js';
import { traceToRows } from '../../test/support/span-rows.js';
import type { TraceRecord } from '../model/trace-record.js';
import { syntheticTraces } from '../../test/support/synthetic-traces.js';
import { scopedAttrTraces } from '../../test/support/scoped-attr-traces.js';
import { removeStaleWorkDirs, writeBlock } from './writer.js';

let root: string;
let backend: Backend;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rubato-writer-test-'));
  backend = createLocalBackend(root);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

function kv(w: WireWriter, field: number, key: string, value: (w: WireWriter) => void): void {
  const m = w.beginMessage(field);
  w.stringField(1, key);
  const v = w.beginMessage(2);
  value(w);
  w.endMessage(v);
  w.endMessage(m);
}

/** A trace with the awkward cases the synthetic generator does not make. */
function edgeTrace(traceId: string): Uint8Array {
  const tid = Buffer.from(traceId, 'hex');
  const w = new WireWriter();
  const rs = w.beginMessage(1);
  const res = w.beginMessage(1);
  kv(w, 1, 'service.name', (x) => {
    x.tag(3, 0);
    x.varint(42); // an int service name is written as its decimal string
  });
  kv(w, 1, 'k8s.cluster.name', (x) => x.stringField(1, 'c\u00e9'));
  w.endMessage(res);
  const ss = w.beginMessage(2);
  const scope = w.beginMessage(1);
  w.stringField(1, 'edge-lib');
  kv(w, 3, 'scope.attr', (x) => {
    x.tag(2, 0);
    x.varint(1);
  });
  kv(w, 3, 'scope.list', (x) => {
    const l = x.beginMessage(5);
    const v = x.beginMessage(1);
    x.stringField(1, 'q');
    x.endMessage(v);
    x.endMessage(l);
  });
  w.endMessage(scope);
  const span = (id: number, parent: Uint8Array | null, start: bigint, body: (x: WireWriter) => void): void => {
    const m = w.beginMessage(2);
    w.bytesField(1, tid);
    w.bytesField(2, Uint8Array.from([0, 0, 0, 0, 0, 0, 0, id]));
    if (parent !== null) w.bytesField(4, parent);
    w.stringField(5, `span-${id}`);
    w.tag(7, 1);
    w.fixed64(start);
    w.tag(8, 1);
    w.fixed64(start - 5n); // end before start: duration 0
    body(w);
    w.endMessage(m);
  };
  span(1, new Uint8Array(8), 18_000_000_000_000_000_000n, (x) => {
    kv(x, 9, 'http.method', (y) => {
      y.tag(2, 0);
      y.varint(1);
    });
    kv(x, 9, 'http.status_code', (y) => y.stringField(1, '404'));
    kv(x, 9, 'http.response.status_code', (y) => {
      y.tag(4, 1);
      y.double(201.9);
    });
    kv(x, 9, 'nan', (y) => {
      y.tag(4, 1);
      y.double(Number.NaN);
    });
    kv(x, 9, 'inf', (y) => {
      y.tag(4, 1);
      y.double(Number.NEGATIVE_INFINITY);
    });
    kv(x, 9, 'big', (y) => {
      y.tag(3, 0);
      y.varint64(-(2n ** 62n));
    });
    kv(x, 9, 'bytes', (y) => y.bytesField(7, Uint8Array.from([0, 255, 7])));
    kv(x, 9, 'empty', () => undefined);
    kv(x, 9, 'kv', (y) => {
      const l = y.beginMessage(6);
      kv(y, 1, 'a', (z) => z.stringField(1, 'x'));
      kv(y, 1, 'n', (z) => {
        z.tag(3, 0);
        z.varint64(2n ** 60n);
      });
      y.endMessage(l);
    });
    // Invalid UTF-8 in a key and a value: stored as U+FFFD like a decoder reads it.
    const m = x.beginMessage(9);
    x.bytesField(1, Uint8Array.from([0x62, 0xff, 0x61, 0x64]));
    const v = x.beginMessage(2);
    x.bytesField(1, Uint8Array.from([0xc3, 0x28]));
    x.endMessage(v);
    x.endMessage(m);
    // A link without IDs, one with attributes, and one without.
    const l0 = x.beginMessage(13);
    kv(x, 4, 'link.n', (y) => {
      y.tag(3, 0);
      y.varint(3);
    });
    x.endMessage(l0);
    const l1 = x.beginMessage(13);
    x.bytesField(1, Uint8Array.from([0xab, 0xcd]));
    x.bytesField(2, Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0]));
    kv(x, 4, 'link.s', (y) => y.stringField(1, 'v'));
    kv(x, 4, 'link.d', (y) => {
      y.tag(4, 1);
      y.double(Number.NaN);
    });
    x.endMessage(l1);
    const l2 = x.beginMessage(13);
    x.bytesField(1, tid);
    x.endMessage(l2);
    const st = x.beginMessage(15);
    x.stringField(2, 'fail\u2603');
    x.tag(3, 0);
    x.varint(2);
    x.endMessage(st);
  });
  span(2, Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 1]), 18_000_000_000_000_000_001n, (x) => {
    kv(x, 9, 'db.system.name', (y) => y.stringField(1, 'pg'));
    kv(x, 9, 'db.system', (y) => y.stringField(1, 'ignored'));
    const e = x.beginMessage(11);
    x.stringField(2, 'first');
    kv(x, 3, 'exception.type', (y) => y.stringField(1, 'E'));
    kv(x, 3, 'n', (y) => {
      y.tag(3, 0);
      y.varint64(-7n);
    });
    x.endMessage(e);
    const e2 = x.beginMessage(11);
    x.endMessage(e2);
    const e3 = x.beginMessage(11);
    kv(x, 3, 'exception.type', (y) => y.stringField(1, 'F'));
    x.endMessage(e3);
  });
  // A span without times or a name, under a parent that is not in the trace.
  const m = w.beginMessage(2);
  w.bytesField(1, tid);
  w.bytesField(2, Uint8Array.from([9, 9, 9, 9, 9, 9, 9, 9]));
  w.bytesField(4, Uint8Array.from([8, 8, 8, 8, 8, 8, 8, 8]));
  w.endMessage(m);
  w.endMessage(ss);
  w.endMessage(rs);
  return w.finish();
}

function appendRef(a: DuckDBAppender, r: SpanRow): void {
  const s = (v: string | null): void => (v === null ? a.appendNull() : a.appendVarchar(v));
  s(r.traceId);
  s(r.spanId);
  s(r.parentSpanId);
  s(r.name);
  a.appendUTinyInt(r.kind);
  a.appendUTinyInt(r.statusCode);
  s(r.statusMessage);
  a.appendUBigInt(r.startUnixNano);
  a.appendUBigInt(r.endUnixNano);
  a.appendUBigInt(r.durationNano);
  for (const v of [r.serviceName, r.httpMethod, r.httpRoute, r.httpUrl]) s(v);
  if (r.httpStatusCode === null) a.appendNull();
  else a.appendInteger(r.httpStatusCode);
  for (const v of [r.dbSystem, r.dbName, r.k8sNamespaceName, r.k8sPodName, r.k8sDeploymentName, r.k8sClusterName]) s(v);
  for (const v of [r.spanAttrsJson, r.resourceAttrsJson, r.scopeName, r.scopeVersion, r.eventNamesJson]) s(v);
  a.appendInteger(r.linkCount);
  s(r.traceRootService);
  s(r.traceRootName);
  a.appendUBigInt(r.traceStartUnixNano);
  a.appendUBigInt(r.traceEndUnixNano);
  a.appendUBigInt(r.traceDurationNano);
  a.appendInteger(r.nestedLeft);
  a.appendInteger(r.nestedRight);
  a.appendInteger(r.nestedParent);
  a.appendBlob(r.resourceProto);
  a.appendBlob(r.scopeProto);
  a.appendBlob(r.spanProto);
  for (const v of [r.eventAttrsJson, r.linkAttrsJson, r.scopeAttrsJson, r.linkTraceIdsJson, r.linkSpanIdsJson]) s(v);
  a.endRow();
}

const JSON_COLS = new Set(['span_attrs', 'resource_attrs', 'event_names', 'event_attrs', 'link_attrs', 'scope_attrs', 'link_trace_ids', 'link_span_ids']);
const STRING_LISTS = new Set(['event_names', 'link_trace_ids', 'link_span_ids']);
const ATTR_SHAPE = `'[{"key":"VARCHAR","type":"VARCHAR","str":"VARCHAR","int":"BIGINT","dbl":"DOUBLE","bool":"BOOLEAN"}]'`;

test('block rows equal the reference row builder, column for column', async () => {
  const traces: TraceRecord[] = syntheticTraces({ traces: 300, spansPerTrace: 9, seed: 5 });
  const edgeId = 'ffff0000000000000000000000000001';
  traces.push({ traceId: edgeId, trace: edgeTrace(edgeId) });
  traces.push(...scopedAttrTraces());
  traces.sort((a, b) => (a.traceId < b.traceId ? -1 : 1));
  const meta = await writeBlock(backend, 'eq', traces, { rowGroupRows: 1024 });
  assert.equal(meta.totalSpans, 300 * 9 + 3 + 24 * 4);
  const file = backend.localPath(`eq/${meta.blockID}/data.parquet`)!;

  const conn = await duckdbConnect();
  try {
    // The reference: the old row path (full decode, JSON attribute lists converted by DuckDB).
    await conn.run(`CREATE TEMP TABLE ref_stage (${SPAN_COLUMNS.map(([n, t]) => `${n} ${JSON_COLS.has(n) ? 'VARCHAR' : t}`).join(', ')})`);
    const app = await conn.createAppender('ref_stage', 'main', 'temp');
    for (const t of traces) for (const r of traceToRows(t)) appendRef(app, r);
    app.closeSync();
    const refSelect = SPAN_COLUMNS.map(([n, t]) => {
      if (STRING_LISTS.has(n)) return `CAST(from_json(${n}, '["VARCHAR"]') AS ${t}) AS ${n}`;
      if (JSON_COLS.has(n)) return `CAST(from_json(${n}, ${ATTR_SHAPE}) AS ${ATTR_STRUCT}[]) AS ${n}`;
      return n;
    });
    const asText = SPAN_COLUMNS.map(([n]) => `CAST(${n} AS VARCHAR)`).join(', ');
    const ref = await conn.runAndReadAll(`SELECT ${asText} FROM (SELECT ${refSelect.join(', ')} FROM ref_stage)`);
    const got = await conn.runAndReadAll(`SELECT ${asText} FROM read_parquet(${sqlString(file)})`);
    const refRows = ref.getRowsJS();
    const gotRows = got.getRowsJS();
    assert.equal(gotRows.length, refRows.length);
    for (let i = 0; i < refRows.length; i++) {
      for (let c = 0; c < SPAN_COLUMNS.length; c++) {
        assert.deepEqual(gotRows[i]![c], refRows[i]![c], `row ${i} column ${SPAN_COLUMNS[c]![0]}`);
      }
    }
    const types = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`);
    const want = await conn.runAndReadAll(`DESCRIBE SELECT ${refSelect.join(', ')} FROM ref_stage`);
    assert.deepEqual(
      types.getRows().map((r) => [r[0], r[1]]),
      want.getRows().map((r) => [r[0], r[1]]),
    );
    await conn.run('DROP TABLE ref_stage');
  } finally {
    conn.closeSync();
  }
});

test('the work folder lives in the backend root, is never listed and is removed', async () => {
  const traces = syntheticTraces({ traces: 20, spansPerTrace: 3, seed: 11 });
  let seenWork: string[] = [];
  async function* slow(): AsyncGenerator<TraceRecord> {
    for (const t of traces) {
      yield t;
      // While the block is being written its work folder exists but is invisible to listings.
      seenWork = (await readdir(join(root, 'tmpdir-tenant'))).filter((n) => n.startsWith('.tmp-'));
      assert.deepEqual(await listBlocks(backend, 'tmpdir-tenant'), []);
      assert.deepEqual(await listIncompleteBlocks(backend, 'tmpdir-tenant'), []);
      assert.ok(!(await listTenants(backend)).some((n) => n.startsWith('.')));
    }
  }
  const meta = await writeBlock(backend, 'tmpdir-tenant', slow());
  assert.equal(seenWork.length, 1);
  assert.deepEqual((await readdir(join(root, 'tmpdir-tenant'))).sort(), [meta.blockID]);
  assert.deepEqual((await readdir(join(root, 'tmpdir-tenant', meta.blockID))).sort(), ['bloom', 'data.parquet', 'index', 'keys.json', 'meta.json']);
});

test('a failed write leaves nothing behind', async () => {
  const traces = syntheticTraces({ traces: 3, spansPerTrace: 2, seed: 12 });
  await assert.rejects(writeBlock(backend, 'fail', [traces[0]!, { traceId: traces[1]!.traceId, trace: Uint8Array.from([0x0a, 0x05, 1]) }]));
  await assert.rejects(writeBlock(backend, 'fail', [traces[2]!, traces[0]!]));
  assert.deepEqual(await readdir(join(root, 'fail')), []);
});

test('stale work folders are removed, fresh ones kept', async () => {
  const dir = join(root, 'stale');
  await mkdir(join(dir, '.tmp-old'), { recursive: true });
  await writeFile(join(dir, '.tmp-old', 'stage.parquet'), 'x');
  await mkdir(join(dir, 'some-block'), { recursive: true });
  assert.equal(await removeStaleWorkDirs(backend, 'stale', 60_000), 0);
  assert.equal(await removeStaleWorkDirs(backend, 'stale', 60_000, Date.now() + 120_000), 1);
  assert.deepEqual(await readdir(dir), ['some-block']);
  assert.equal(await removeStaleWorkDirs(backend, 'no-such-tenant'), 0);
});
