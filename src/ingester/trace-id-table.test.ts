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
});
