import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PushBatch, SpanEntry } from '../model/batch.js';
import { PushError, type PushResult } from '../model/pusher.js';
import { createReplicatingPusher } from './replicating-pusher.js';
import { RingView, tokensFor, type RingInstance } from './ring.js';

const inst = (id: string, state: RingInstance['state'] = 'ACTIVE'): RingInstance => ({
  id,
  addr: id,
  httpAddr: id,
  state,
  heartbeatMs: Date.now(),
  tokens: tokensFor(id, 32),
});

function batch(traces: number): PushBatch {
  const spans: SpanEntry[] = [];
  for (let i = 0; i < traces; i++) {
    const traceId = i.toString(16).padStart(32, '0');
    spans.push({ traceId, span: new Uint8Array(), resource: new Uint8Array(), scope: new Uint8Array(), startNs: 0, endNs: 0 });
  }
  return { tenant: 't', spans, payload: new Uint8Array(), byteSize: 0 };
}

type Behaviour = (id: string) => Promise<PushResult>;

function pusher(instances: RingInstance[], behave: Behaviour, sent: string[] = []) {
  return createReplicatingPusher({
    ring: () => new RingView(instances),
    replicationFactor: 3,
    heartbeatTimeoutMs: 5000,
    send: (i) => {
      sent.push(i.id);
      return behave(i.id);
    },
  });
}

const ok: Behaviour = async () => ({ rejectedSpans: 0, message: '' });
const never = (): Promise<PushResult> => new Promise(() => undefined);

test('acknowledged once two of three replicas acknowledged, without waiting for the third', async () => {
  const sent: string[] = [];
  const p = pusher([inst('a'), inst('b'), inst('c')], (id) => (id === 'c' ? never() : ok(id)), sent);
  const r = await p.push(batch(1));
  assert.equal(r.rejectedSpans, 0);
  assert.deepEqual(sent.sort(), ['a', 'b', 'c']);
});

test('one dead replica (failing, or not ACTIVE) still reaches quorum; two do not', async () => {
  await pusher([inst('a'), inst('b'), inst('c')], (id) => (id === 'b' ? Promise.reject(new PushError('unavailable', 'down')) : ok(id))).push(batch(20));
  const sent: string[] = [];
  await pusher([inst('a'), inst('b', 'JOINING'), inst('c')], ok, sent).push(batch(20));
  assert.ok(!sent.includes('b'), 'a joining ingester is not written to');
  await assert.rejects(
    pusher([inst('a'), inst('b'), inst('c')], (id) => (id === 'a' ? ok(id) : Promise.reject(new PushError('unavailable', 'down')))).push(batch(5)),
    (e: unknown) => e instanceof PushError && e.kind === 'unavailable',
  );
  await assert.rejects(pusher([inst('a'), inst('b', 'LEAVING'), inst('c', 'JOINING')], ok).push(batch(1)), /too few healthy ingesters/);
});

test('a refusal every replica agrees on is passed on as it is (429 stays 429)', async () => {
  await assert.rejects(
    pusher([inst('a'), inst('b'), inst('c')], () => Promise.reject(new PushError('rate_limited', 'slow down'))).push(batch(3)),
    (e: unknown) => e instanceof PushError && e.kind === 'rate_limited',
  );
});

test('zone aware at RF 3 over three zones: a whole zone down still reaches quorum for every trace', async () => {
  const instances = ['a', 'b', 'c'].flatMap((z) => [1, 2].map((n) => ({ ...inst(`${z}${n}`, z === 'b' ? 'LEAVING' : 'ACTIVE'), zone: z })));
  const p = createReplicatingPusher({
    ring: () => new RingView(instances, { zoneAware: true }),
    replicationFactor: 3,
    heartbeatTimeoutMs: 5000,
    send: async () => ({ rejectedSpans: 0, message: '' }),
  });
  assert.deepEqual(await p.push(batch(200)), { rejectedSpans: 0, message: '' });
  // Without zone awareness some traces have two replicas in zone b and cannot reach quorum.
  const plain = createReplicatingPusher({
    ring: () => new RingView(instances),
    replicationFactor: 3,
    heartbeatTimeoutMs: 5000,
    send: async () => ({ rejectedSpans: 0, message: '' }),
  });
  await assert.rejects(plain.push(batch(200)), PushError);
});
