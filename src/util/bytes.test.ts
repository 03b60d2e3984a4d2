import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, parseBytes } from './bytes.js';

test('parseBytes reads numbers and unit strings (MB and MiB both base 2, as in Tempo)', () => {
  assert.equal(parseBytes(524288000), 524288000);
  assert.equal(parseBytes('500MB'), 524288000);
  assert.equal(parseBytes('64MiB'), 64 * 1024 * 1024);
  assert.equal(parseBytes('1GB'), 1024 ** 3);
  assert.equal(parseBytes('100GiB'), 107374182400);
  assert.equal(parseBytes('63KiB1023B'), 65535);
  assert.equal(parseBytes('1024'), 1024);
  assert.equal(parseBytes('1.5 KB'), 1536);
  assert.equal(parseBytes('2k'), 2048);
});

test('parseBytes rejects nonsense', () => {
  for (const bad of ['', 'MB', '5 parsecs', '-1', '1..5MB']) assert.throws(() => parseBytes(bad), /invalid size/, bad);
  assert.throws(() => parseBytes(-1), /invalid size/);
  assert.throws(() => parseBytes(Number.NaN), /invalid size/);
});

test('formatBytes uses the largest even binary unit', () => {
  assert.equal(formatBytes(64 * 1024 * 1024), '64MiB');
  assert.equal(formatBytes(1000), '1000B');
  assert.equal(formatBytes(0), '0B');
});
