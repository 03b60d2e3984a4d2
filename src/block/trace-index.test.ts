import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTraceIndexBuilder, openTraceIndex } from './trace-index.js';

function id(n: number): string {
  return n.toString(16).padStart(32, '0');
}

test('finds every entry with one page read, misses return null', async () => {
  const b = createTraceIndexBuilder(16);
  let row = 0;
  for (let i = 0; i < 1000; i++) {
    b.add(id(i * 2 + 1), row, (i % 5) + 1);
    row += (i % 5) + 1;
  }
  const file = b.finish();
  let reads = 0;
  const idx = await openTraceIndex(async (off, len) => {
    reads++;
    return file.subarray(off, off + len);
  });
  assert.equal(idx.entryCount, 1000);
  row = 0;
  for (let i = 0; i < 1000; i++) {
    reads = 0;
    assert.deepEqual(await idx.find(id(i * 2 + 1)), { traceId: id(i * 2 + 1), firstRow: row, rowCount: (i % 5) + 1 });
    assert.equal(reads, 1);
    row += (i % 5) + 1;
  }
  for (const miss of [0, 2, 1000, 2001, 5000]) assert.equal(await idx.find(id(miss)), null);
  assert.equal(await idx.find('zz'), null);
  assert.equal((await idx.find(id(7).toUpperCase()))?.firstRow, 6);
});

test('rejects unsorted or duplicate IDs', () => {
  const b = createTraceIndexBuilder();
  b.add(id(5), 0, 1);
  assert.throws(() => b.add(id(5), 1, 1));
  assert.throws(() => b.add(id(4), 1, 1));
});

test('empty index', async () => {
  const file = createTraceIndexBuilder().finish();
  const idx = await openTraceIndex(async (off, len) => file.subarray(off, off + len));
  assert.equal(await idx.find(id(1)), null);
});
