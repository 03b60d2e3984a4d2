import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RingView, isHealthy, tokensFor, traceToken, writeQuorum, type RingInstance } from './ring.js';

const inst = (id: string, state: RingInstance['state'] = 'ACTIVE', heartbeatMs = Date.now()): RingInstance => ({
  id,
  addr: `${id}:9095`,
  httpAddr: `${id}:3100`,
  state,
  heartbeatMs,
  tokens: tokensFor(id, 128),
});

test('a trace goes to RF distinct instances, the same from every process', () => {
  const view = new RingView([inst('a'), inst('b'), inst('c'), inst('d')]);
  const again = new RingView([inst('d'), inst('c'), inst('b'), inst('a')]);
  for (let i = 0; i < 200; i++) {
    const token = traceToken('t', i.toString(16).padStart(32, '0'));
    const set = view.replicasFor(token, 3).map((x) => x.id);
    assert.equal(new Set(set).size, 3);
    assert.deepEqual(
      again.replicasFor(token, 3).map((x) => x.id),
      set,
    );
  }
  // Fewer instances than RF: each once.
  assert.deepEqual(
    new RingView([inst('a')]).replicasFor(5, 3).map((x) => x.id),
    ['a'],
  );
  assert.deepEqual(new RingView([]).replicasFor(5, 3), []);
});

test('tokens spread traces over instances, and a restarted instance takes the same tokens', () => {
  assert.deepEqual(tokensFor('ingester-1', 64), tokensFor('ingester-1', 64));
  const view = new RingView([inst('a'), inst('b'), inst('c')]);
  const owners = new Map<string, number>();
  for (let i = 0; i < 3000; i++) {
    const first = view.replicasFor(traceToken('t', `${i}`), 1)[0]!.id;
    owners.set(first, (owners.get(first) ?? 0) + 1);
  }
  for (const n of owners.values()) assert.ok(n > 500, `each instance owns a fair share: ${[...owners.values()]}`);
});

test('quorum and health', () => {
  assert.deepEqual([1, 2, 3, 5].map(writeQuorum), [1, 2, 2, 3]);
  const now = Date.now();
  assert.equal(isHealthy(inst('a', 'ACTIVE', now - 1000), now, 5000), true);
  assert.equal(isHealthy(inst('a', 'ACTIVE', now - 6000), now, 5000), false);
  assert.equal(isHealthy(inst('a', 'JOINING', now), now, 5000), false);
  assert.equal(isHealthy(inst('a', 'LEAVING', now), now, 5000), false);
});

test('zone aware: a trace gets one replica per zone, so losing a zone costs each trace one replica', () => {
  const zoned = (id: string, zone: string): RingInstance => ({ ...inst(id), zone });
  const instances = ['a', 'b', 'c'].flatMap((z) => [zoned(`${z}1`, z), zoned(`${z}2`, z), zoned(`${z}3`, z)]);
  const aware = new RingView(instances, { zoneAware: true });
  const plain = new RingView(instances);
  let plainSharedZone = 0;
  for (let i = 0; i < 500; i++) {
    const token = traceToken('t', i.toString(16).padStart(32, '0'));
    const zones = aware.replicasFor(token, 3).map((x) => x.zone);
    assert.deepEqual([...new Set(zones)].sort(), ['a', 'b', 'c'], `trace ${i}`);
    if (new Set(plain.replicasFor(token, 3).map((x) => x.zone)).size < 3) plainSharedZone++;
  }
  assert.ok(plainSharedZone > 0, 'without zone awareness some traces keep two replicas in one zone');
  // Two zones for RF 3: two replicas, so a write needs both (the missing third counts as failed).
  const two = new RingView(
    instances.filter((x) => x.zone !== 'c'),
    { zoneAware: true },
  );
  assert.equal(two.replicasFor(traceToken('t', '1'.repeat(32)), 3).length, 2);
});

test('excluded zones own nothing', () => {
  const zoned = (id: string, zone: string): RingInstance => ({ ...inst(id), zone });
  const view = new RingView([zoned('a1', 'a'), zoned('b1', 'b'), zoned('c1', 'c'), zoned('c2', 'c')], { excludedZones: ['c'] });
  for (let i = 0; i < 200; i++) {
    const ids = view.replicasFor(traceToken('t', i.toString(16).padStart(32, '0')), 3).map((x) => x.id);
    assert.deepEqual(ids.sort(), ['a1', 'b1']);
  }
});
