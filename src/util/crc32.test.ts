import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { crc32, crc32Js } from './crc32.js';

test('crc32 matches the standard check value', () => {
  const data = Buffer.from('123456789', 'ascii');
  assert.equal(crc32Js(data), 0xcbf43926);
  assert.equal(crc32(data), 0xcbf43926);
  assert.equal(crc32Js(new Uint8Array(0)), 0);
});

test('JS and selected implementation agree on every length and when chained', () => {
  const data = randomBytes(4099);
  for (let n = 0; n <= 70; n++) assert.equal(crc32Js(data.subarray(0, n)), crc32(data.subarray(0, n)), `len ${n}`);
  assert.equal(crc32Js(data), crc32(data));
  for (const cut of [0, 1, 7, 8, 9, 1000, 4099]) {
    const chained = crc32Js(data.subarray(cut), crc32Js(data.subarray(0, cut)));
    assert.equal(chained, crc32(data), `cut ${cut}`);
    assert.equal(crc32(data.subarray(cut), crc32(data.subarray(0, cut))), crc32(data));
  }
});
