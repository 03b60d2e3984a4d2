// A block read the way object storage is read (no local path): queries fetch only the footer and the
// column chunks they touch, answer the same as a local read, reuse what is cached, and the cache
// stays under its bound.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { createLocalBackend } from '../backend/local.js';
import { extractConditions, parse } from '../traceql/index.js';
import type { TraceRecord } from '../model/trace-record.js';
import type { BlockMeta } from './meta.js';
import { ParquetBlock } from './parquet-block.js';
import { fetchTraces } from './search.js';
import { blockCacheBytes, configureBlockCache, mergeRanges, missing, SparseParquetFile } from './remote-file.js';
import { syntheticTraces } from '../../test/support/synthetic-traces.js';
import { writeBlock } from './writer.js';

let root: string;
let local: Backend;
let traces: TraceRecord[];
let metaA: BlockMeta;
let metaB: BlockMeta;
const fetched = { bytes: 0, requests: 0 };

/** The local backend seen as an object store: no local paths, ranged reads counted. */
function remoteLike(b: Backend): Backend {
  return {
    ...b,
    localPath: () => null,
    async readRange(path, offset, length) {
      const buf = await b.readRange(path, offset, length);
      if (path.endsWith('data.parquet')) {
        fetched.bytes += buf.byteLength;
        fetched.requests++;
      }
      return buf;
    },
  };
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rubato-remote-file-'));
  local = createLocalBackend(root);
  traces = syntheticTraces({ traces: 2000, spansPerTrace: 10, seed: 7 });
  metaA = await writeBlock(local, 't', traces, { rowGroupRows: 2048 });
  metaB = await writeBlock(local, 't', syntheticTraces({ traces: 2000, spansPerTrace: 10, seed: 8 }), { rowGroupRows: 2048 });
});
after(async () => {
  configureBlockCache({});
  await rm(root, { recursive: true, force: true });
});

test('ranges: merge and subtract', () => {
  assert.deepEqual(
    mergeRanges(
      [
        [10, 20],
        [0, 5],
        [22, 30],
      ],
      2,
    ),
    [
      [0, 5],
      [10, 30],
    ],
  );
  assert.deepEqual(
    missing(
      [
        [0, 10],
        [20, 30],
      ],
      [
        [2, 4],
        [8, 22],
      ],
    ),
    [
      [0, 2],
      [4, 8],
      [22, 30],
    ],
  );
  assert.deepEqual(missing([[0, 10]], []), [[0, 10]]);
  assert.deepEqual(missing([[5, 6]], [[0, 10]]), []);
});

test('trace by ID fetches the footer and one row group of a few columns, then nothing more', async () => {
  const localBlock = await ParquetBlock.open(local, metaA);
  const block = await ParquetBlock.open(remoteLike(local), metaA);
  try {
    fetched.bytes = 0;
    const id = traces[1234]!.traceId;
    assert.deepEqual(await block.findTrace(id), await localBlock.findTrace(id));
    const cold = fetched.bytes;
    assert.ok(cold > 0 && cold < metaA.size / 4, `fetched ${cold} of ${metaA.size} bytes`);
    fetched.bytes = 0;
    assert.deepEqual(await block.findTrace(id), await localBlock.findTrace(id));
    assert.equal(fetched.bytes, 0, 'warm lookup fetches nothing');
    // IDs at both ends of the block: the row groups in between are not fetched, and DuckDB does not need them.
    const key = `t/${metaA.blockID}/data.parquet`;
    const file = new SparseParquetFile(metaA.size, (off, len) => remoteLike(local).readRange(key, off, len));
    try {
      fetched.bytes = 0;
      const ends = [traces[3]!.traceId, traces[1990]!.traceId].sort();
      const got = await fetchTraces(file, ends);
      assert.deepEqual(
        got.map((t) => t.traceId),
        ends,
      );
      assert.ok(fetched.bytes < metaA.size / 2, `fetched ${fetched.bytes} of ${metaA.size} bytes`);
    } finally {
      await file.close();
    }
  } finally {
    await block.close();
    await localBlock.close();
  }
});

test('a search reads its filter columns of every row group and the payload of the matches only', async () => {
  const block = await ParquetBlock.open(remoteLike(local), metaA);
  try {
    fetched.bytes = 0;
    const conditions = extractConditions(parse('{ span.http.status_code = 500 && resource.service.name = "payment" }'));
    let n = 0;
    for await (const batch of block.search({ conditions }, { batchSize: () => 20 })) n += batch.length;
    assert.ok(n > 0);
    assert.ok(fetched.bytes < metaA.size, `fetched ${fetched.bytes} of ${metaA.size}`);
  } finally {
    await block.close();
  }
});

test('the cache stays under its bound: least recently used files not in use are evicted and refetched', async () => {
  const a = await ParquetBlock.open(remoteLike(local), metaA);
  const b = await ParquetBlock.open(remoteLike(local), metaB);
  try {
    configureBlockCache({ maxBytes: 64 * 1024 });
    const idA = traces[10]!.traceId;
    const expected = await a.findTrace(idA);
    assert.equal(expected.length, 1);
    for await (const rec of b.traces()) void rec;
    fetched.bytes = 0;
    assert.deepEqual(await a.findTrace(idA), expected);
    assert.ok(fetched.bytes > 0, 'an evicted file is fetched again');
  } finally {
    configureBlockCache({});
    await a.close();
    await b.close();
  }
  assert.equal(blockCacheBytes(), 0);
});
