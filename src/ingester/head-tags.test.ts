// The head block's tag index answers what decoding every trace answered, also for traces whose
// parts arrived in separate pushes, keeps up as the block grows, and stays inside its bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AttributeTagScope, TagRef, TypedValue } from '../block/block.js';
import { decodedTagNames, decodedTagValues } from '../block/decoded-tags.js';
import type { TraceRecord } from '../model/trace-record.js';
import { decodeExportRequest } from '../otlp/decode-request.js';
import { encodeTrace } from '../otlp/trace-encode.js';
import { scopedAttrTraces } from '../../test/support/scoped-attr-traces.js';
import { syntheticTraces } from '../../test/support/synthetic-traces.js';
import { HeadBlock, type HeadRecord } from './head-block.js';
import { HeadTagIndex } from './head-tags.js';
import { RecentBlock } from './recent-block.js';

const SCOPES: AttributeTagScope[] = ['resource', 'span', 'event', 'link', 'instrumentation'];
const ALL = { filter: { conditions: { conditions: [], allConditions: false, needAllSpans: false } }, run: null };

/** Each trace as two parts (first span alone, the rest), as two pushes would append them. */
function parts(recs: readonly TraceRecord[]): [HeadRecord[], HeadRecord[]] {
  const first: HeadRecord[] = [];
  const rest: HeadRecord[] = [];
  for (const r of recs) {
    const spans = decodeExportRequest(r.trace, 't').spans;
    first.push({ traceId: r.traceId, trace: encodeTrace(spans.slice(0, 1)), startNs: 1, endNs: 2 });
    if (spans.length > 1) rest.push({ traceId: r.traceId, trace: encodeTrace(spans.slice(1)), startNs: 1, endNs: 2 });
  }
  return [first, rest];
}

const sorted = (vs: readonly TypedValue[]): string[] => vs.map((v) => `${v.type}:${v.value}`).sort();

function withHead<T>(fn: (head: HeadBlock) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'rubato-head-tags-'));
  const head = new HeadBlock(dir, 't', 1, Date.now());
  return fn(head).finally(() => {
    head.discard();
    rmSync(dir, { recursive: true, force: true });
  });
}

const TAGS: TagRef[] = [
  { kind: 'attribute', scope: 'resource', key: 'service.name' },
  { kind: 'attribute', scope: 'span', key: 'http.status_code' },
  { kind: 'attribute', scope: 'event', key: 'exception.type' },
  { kind: 'attribute', scope: 'link', key: 'link.weight' },
  { kind: 'intrinsic', name: 'name' },
  { kind: 'intrinsic', name: 'statusMessage' },
  { kind: 'intrinsic', name: 'eventName' },
  { kind: 'intrinsic', name: 'instrumentationName' },
  { kind: 'intrinsic', name: 'rootServiceName' },
  { kind: 'intrinsic', name: 'rootName' },
];

test('the index lists the same names and values as decoding every trace, across parts and appends', async () => {
  const traces = [...syntheticTraces({ traces: 60, spansPerTrace: 4, seed: 3, startNs: 1_700_000_000_000_000_000n }), ...scopedAttrTraces(24)];
  await withHead(async (head) => {
    const [first, rest] = parts(traces);
    const recent = new RecentBlock('t', [head]);
    head.appendMany(first, 1);
    // Asked once before the rest arrives: the later parts must still be indexed.
    await recent.tagNames(SCOPES, ALL);
    head.appendMany(rest, 2);
    const names = await recent.tagNames(SCOPES, ALL);
    const want = await decodedTagNames(traces, SCOPES, null);
    for (const s of SCOPES) assert.deepEqual([...(names.get(s) ?? [])].sort(), [...(want.get(s) ?? [])].sort(), `scope ${s}`);
    for (const tag of TAGS) {
      const got = sorted(await recent.tagValues(tag, ALL));
      assert.deepEqual(got, sorted(await decodedTagValues(traces, tag, null)), JSON.stringify(tag));
    }
    const some = (await decodedTagValues(traces, { kind: 'attribute', scope: 'resource', key: 'service.name' }, null)).length;
    assert.ok(some > 0, 'the comparison covers real values');
  });
});

test('concurrent requests share one pass and both see everything appended before they asked', async () => {
  const traces = syntheticTraces({ traces: 200, spansPerTrace: 3, seed: 5, startNs: 1_700_000_000_000_000_000n });
  await withHead(async (head) => {
    head.appendMany(parts(traces)[0], 1);
    const recent = new RecentBlock('t', [head]);
    const tag: TagRef = { kind: 'intrinsic', name: 'name' };
    const [a, b] = await Promise.all([recent.tagValues(tag, ALL), recent.tagValues(tag, ALL)]);
    assert.deepEqual(sorted(a), sorted(b));
    assert.ok(a.length > 0);
  });
});

test('an aborted request leaves the index usable for the next one', async () => {
  const traces = syntheticTraces({ traces: 50, spansPerTrace: 3, seed: 6, startNs: 1_700_000_000_000_000_000n });
  await withHead(async (head) => {
    head.appendMany(parts(traces)[0], 1);
    const ctl = new AbortController();
    ctl.abort(new Error('client gone'));
    await assert.rejects(head.tags.catchUp(ctl.signal), /client gone/);
    await head.tags.catchUp();
    assert.ok(head.tags.tagNames(['resource']).get('resource')?.has('service.name'));
  });
});

test('the index stops growing at its bound instead of holding every value', async () => {
  const traces = syntheticTraces({ traces: 100, spansPerTrace: 4, seed: 7, startNs: 1_700_000_000_000_000_000n });
  await withHead(async (head) => {
    head.appendMany(parts(traces)[1], 1);
    const small = new HeadTagIndex(head, 200);
    await small.catchUp();
    const big = new HeadTagIndex(head, 1 << 20);
    await big.catchUp();
    const count = (ix: HeadTagIndex): number =>
      [...ix.tagNames(SCOPES).values()].reduce((n, s) => n + s.size, 0) + ix.tagValues({ kind: 'intrinsic', name: 'name' }).length;
    assert.ok(count(small) < count(big), `${count(small)} < ${count(big)}`);
    let text = 0;
    for (const names of small.tagNames(SCOPES).values()) for (const n of names) text += n.length;
    assert.ok(text <= 200);
  });
});
