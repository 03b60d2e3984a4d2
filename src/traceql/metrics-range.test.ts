// Tempo 2.10's time slots and log2 buckets: right-closed intervals, alignment with one extra step,
// the default step, power-of-two bucketing and exponential interpolation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alignRange, defaultStepNs, IntervalMapper, log2Bucketize, log2Quantile } from './metrics-range.js';

const S = 1_000_000_000n;

test('range alignment: start down and one step earlier, end up', () => {
  const r = alignRange({ startNs: 1_000n * S + 5n, endNs: 1_100n * S + 1n, stepNs: 60n * S, instant: false });
  assert.equal(r.startNs, 900n * S);
  assert.equal(r.endNs, 1_140n * S);
  const inst = { startNs: 7n, endNs: 9n, stepNs: 2n, instant: true };
  assert.deepEqual(alignRange(inst), inst);
});

test('intervals are right-closed and stamped with their end', () => {
  const m = new IntervalMapper({ startNs: 0n, endNs: 180n * S, stepNs: 60n * S, instant: false });
  assert.equal(m.count, 3);
  assert.equal(m.interval(0n), -1, 'the start itself is outside');
  assert.equal(m.interval(1n), 0);
  assert.equal(m.interval(60n * S), 0, 'a boundary belongs to the interval it ends');
  assert.equal(m.interval(60n * S + 1n), 1);
  assert.equal(m.interval(180n * S), 2);
  assert.equal(m.interval(180n * S + 1n), -1);
  assert.deepEqual(
    [0, 1, 2].map((i) => m.timestampMs(i)),
    [60_000, 120_000, 180_000],
  );
  const inst = new IntervalMapper({ startNs: 10n * S, endNs: 20n * S, stepNs: 10n * S, instant: true });
  assert.equal(inst.count, 1);
  assert.equal(inst.interval(10n * S), -1);
  assert.equal(inst.interval(20n * S), 0);
  assert.equal(inst.timestampMs(0), 20_000);
});

test('default step: about 240 points, in 5 s (else 1 s) steps, at least 1 s', () => {
  assert.equal(defaultStepNs(0n, 3600n * S), 15n * S);
  assert.equal(defaultStepNs(0n, 600n * S), 2n * S);
  assert.equal(defaultStepNs(0n, 10n * S), S);
  assert.equal(defaultStepNs(0n, 24n * 3600n * S), 360n * S);
});

test('log2 buckets and quantiles', () => {
  assert.equal(log2Bucketize(1), -1);
  assert.equal(log2Bucketize(2), 2);
  assert.equal(log2Bucketize(3), 4);
  assert.equal(log2Bucketize(1024), 1024);
  assert.equal(log2Bucketize(1025), 2048);
  assert.equal(log2Bucketize(2 ** 40 + 1), 2 ** 41);
  const buckets = [
    { max: 1, count: 10 },
    { max: 2, count: 10 },
    { max: 4, count: 20 },
  ];
  assert.equal(log2Quantile(0.25, buckets), 1, 'exactly the samples of the first bucket');
  assert.equal(log2Quantile(1, buckets), 4);
  // Halfway through the last bucket's samples: 2^(1 + 0.5) between its floor 2 and its max 4.
  assert.ok(Math.abs(log2Quantile(0.75, buckets) - 2 ** 1.5) < 1e-12);
  assert.equal(log2Quantile(0.5, []), 0);
});
