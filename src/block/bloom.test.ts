import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBloomFilter, parseBloomFilter } from './bloom.js';
import { rng } from '../../test/support/synthetic-traces.js';

function ids(n: number, seed: number): string[] {
  const r = rng(seed);
  return Array.from({ length: n }, () =>
    Array.from({ length: 16 }, () =>
      Math.floor(r() * 256)
        .toString(16)
        .padStart(2, '0'),
    ).join(''),
  );
}

test('no false negatives, ~1% false positives, survives serialization', () => {
  const inside = ids(20_000, 1);
  const bloom = createBloomFilter(inside.length);
  for (const id of inside) bloom.add(id);
  const parsed = parseBloomFilter(bloom.serialize());
  for (const id of inside) {
    assert.equal(bloom.mayContain(id), true);
    assert.equal(parsed.mayContain(id), true);
    assert.equal(parsed.mayContain(id.toUpperCase()), true);
  }
  const outside = ids(20_000, 2);
  const fp = outside.filter((id) => parsed.mayContain(id)).length / outside.length;
  assert.ok(fp < 0.02, `false positive rate ${fp}`);
});

test('64-bit IDs (upper half zero) still spread', () => {
  const inside = ids(5_000, 3).map((id) => '0'.repeat(16) + id.slice(16));
  const bloom = createBloomFilter(inside.length);
  for (const id of inside) bloom.add(id);
  const outside = ids(5_000, 4).map((id) => '0'.repeat(16) + id.slice(16));
  const fp = outside.filter((id) => bloom.mayContain(id)).length / outside.length;
  assert.ok(fp < 0.02, `false positive rate ${fp}`);
});

test('rejects garbage', () => {
  assert.throws(() => parseBloomFilter(new Uint8Array(20)));
});

test('the false-positive rate sizes the filter; out-of-range rates are clamped', () => {
  const tight = createBloomFilter(10_000, 0.001).serialize().byteLength;
  const loose = createBloomFilter(10_000, 0.1).serialize().byteLength;
  assert.ok(tight > loose * 2, `${tight} vs ${loose}`);
  assert.ok(Number.isFinite(createBloomFilter(100, 0).serialize().byteLength));
  assert.ok(createBloomFilter(100, 1).serialize().byteLength > 0);
});
