import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { TraceIdTable } from './trace-id-table.js';

test('TraceIdTable stores, overwrites, grows and lists like a Map', () => {
  const table = new TraceIdTable(16);
  const map = new Map<string, number>();
  const ids = Array.from({ length: 5000 }, (_, i) => (i % 7 === 0 ? '0'.repeat(16) + randomBytes(8).toString('hex') : randomBytes(16).toString('hex')));
  ids.forEach((id, i) => {
    table.set(id, i * 1.5);
    map.set(id, i * 1.5);
  });
  for (const id of ids.slice(0, 100)) {
    table.set(id, -1);
    map.set(id, -1);
  }
  assert.equal(table.size, map.size);
  for (const [id, v] of map) {
    assert.equal(table.get(id), v);
    assert.ok(table.has(id));
  }
  assert.equal(table.get('f'.repeat(32)), undefined);
  assert.equal(table.has('0'.repeat(31) + '1'), false);
  assert.deepEqual([...table.keys()].sort(), [...map.keys()].sort());
  assert.ok(table.bytes < map.size * 60);
  // sortedEntries: 24 bytes an entry, IDs ascending, each with its value.
  const sorted = table.sortedEntries();
  const expected = [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  assert.equal(sorted.length, expected.length * 24);
  expected.forEach(([id, v], i) => {
    assert.equal(sorted.toString('hex', i * 24, i * 24 + 16), id);
    assert.equal(sorted.readDoubleLE(i * 24 + 16), v);
  });
});
