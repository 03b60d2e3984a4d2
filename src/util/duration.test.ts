import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from './duration.js';

test('parseDuration reads Go and Prometheus durations as milliseconds', () => {
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('72h'), 72 * 3_600_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('1h0m0s'), 3_600_000);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('250us'), 0.25);
  assert.equal(parseDuration('1d'), 86_400_000);
  assert.equal(parseDuration('1w'), 7 * 86_400_000);
  assert.equal(parseDuration('-2m'), -120_000);
});

test('parseDuration rejects what Go rejects', () => {
  for (const bad of ['', '10', '5 parsecs', 's', '1x', '1h 30m', 'abc', '--1s', '1.2.3s']) {
    assert.throws(() => parseDuration(bad), /invalid duration/, bad);
  }
});

test('formatDuration prints Go form', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(10_000), '10s');
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(3_600_000), '1h0m0s');
  assert.equal(formatDuration(72 * 3_600_000), '72h0m0s');
  assert.equal(formatDuration(500), '500ms');
  assert.equal(formatDuration(1500), '1.5s');
  assert.equal(formatDuration(0.25), '250µs');
  assert.equal(formatDuration(-120_000), '-2m0s');
});

test('formatDuration output parses back to the same value', () => {
  for (const ms of [1, 999, 1000, 61_000, 3_601_000, 336 * 3_600_000, 0.001]) {
    assert.equal(parseDuration(formatDuration(ms)), ms);
  }
});
