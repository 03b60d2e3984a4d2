// The in-flight budget alone: sharing, the lone-request rule, FIFO waiting, timeouts and release while waiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InflightBudget } from './inflight.js';

test('inflight: leases take from one budget and give back on release, once', () => {
  const b = new InflightBudget(100);
  const a = b.lease();
  const c = b.lease();
  assert.ok(a.take(60));
  assert.ok(!c.take(50), 'over the budget');
  assert.ok(c.take(40));
  assert.equal(b.inFlight, 100);
  a.release();
  a.release();
  assert.equal(b.inFlight, 40);
  c.shrinkTo(10);
  assert.equal(b.inFlight, 10);
  c.release();
  assert.equal(b.inFlight, 0);
  assert.ok(!a.take(1), 'a released lease takes nothing more');
});

test('inflight: a request alone may exceed the budget, so a small budget never blocks every request', () => {
  const b = new InflightBudget(10);
  const a = b.lease();
  assert.ok(a.take(50));
  assert.ok(a.take(50), 'still alone');
  assert.ok(!b.lease().take(1));
  a.release();
});

test('inflight: waiters get bytes in order as they are given back, or false on timeout or release', async () => {
  const b = new InflightBudget(100);
  const holder = b.lease();
  assert.ok(holder.take(100));
  const first = b.lease();
  const second = b.lease();
  const gone = b.lease();
  const p1 = first.takeOrWait(60, 10_000);
  const p2 = second.takeOrWait(40, 10_000);
  const p3 = gone.takeOrWait(10, 10_000);
  gone.release();
  assert.equal(await p3, false);
  holder.release();
  assert.equal(await p1, true);
  assert.equal(await p2, true);
  assert.equal(b.inFlight, 100);
  // The budget's timer is unref'd (it must not hold a stopping server up): a ref'd one keeps this test alive.
  const [timedOut] = await Promise.all([b.lease().takeOrWait(1, 20), new Promise((r) => setTimeout(r, 100))]);
  assert.equal(timedOut, false, 'times out');
  first.release();
  second.release();
  assert.equal(b.inFlight, 0);
});
