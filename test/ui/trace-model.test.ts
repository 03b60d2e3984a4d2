// The web UI's trace model (ui/src/model): tree building, critical path, collapsing, find and
// compare, checked on small hand-made Tempo JSON answers without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { base64ToHex, buildTraceModel, compareTraces, findSpans, nanosToMs, visibleRows } from '../../ui/src/model/trace-model.js';
import { assistContext, builderQuery, scopedTagNames, tokenize } from '../../ui/src/model/traceql-assist.js';

const b64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');
const T0 = 1_700_000_000_000_000_000n;

interface S {
  id: string;
  parent?: string;
  name: string;
  start: number;
  end: number;
  error?: boolean;
}

function answer(service: string, spans: S[], more: Array<{ service: string; spans: S[] }> = []): unknown {
  const rs = [{ service, spans }, ...more].map((r) => ({
    resource: { attributes: [{ key: 'service.name', value: { stringValue: r.service } }] },
    scopeSpans: [
      {
        scope: { name: 'lib', version: '1.0' },
        spans: r.spans.map((s) => ({
          traceId: b64('0102030405060708090a0b0c0d0e0f10'),
          spanId: b64(s.id),
          ...(s.parent !== undefined ? { parentSpanId: b64(s.parent) } : {}),
          name: s.name,
          kind: 'SPAN_KIND_SERVER',
          startTimeUnixNano: (T0 + BigInt(s.start) * 1_000_000n).toString(),
          endTimeUnixNano: (T0 + BigInt(s.end) * 1_000_000n).toString(),
          attributes: [
            { key: 'http.status_code', value: { intValue: '500' } },
            { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'a' }] } } },
          ],
          status: s.error === true ? { code: 'STATUS_CODE_ERROR', message: 'boom' } : {},
        })),
      },
    ],
  }));
  return { trace: { resourceSpans: rs } };
}

// root 0..100 with children a (0..30), b (20..90, calls c 25..85 in another service), d orphan.
const sample = answer(
  'front',
  [
    { id: '0000000000000001', name: 'root', start: 0, end: 100 },
    { id: '0000000000000002', parent: '0000000000000001', name: 'a', start: 0, end: 30 },
    { id: '0000000000000003', parent: '0000000000000001', name: 'b', start: 20, end: 90 },
    { id: '0000000000000009', parent: '00000000000000ff', name: 'orphan', start: 5, end: 6 },
  ],
  [{ service: 'back', spans: [{ id: '0000000000000004', parent: '0000000000000003', name: 'c', start: 25, end: 85, error: true }] }],
);

test('IDs and nanosecond times decode', () => {
  assert.equal(base64ToHex(b64('00ff10')), '00ff10');
  assert.equal(nanosToMs('1700000000123456789'), 1700000000123.4568);
  assert.equal(nanosToMs('1500'), 0.0015);
});

test('the tree: roots, depths, order, services, errors, orphans', () => {
  const m = buildTraceModel('t', sample);
  assert.equal(m.spans.length, 5);
  assert.deepEqual(
    m.order.map((i) => m.spans[i]?.name),
    ['root', 'a', 'b', 'c', 'orphan'],
  );
  assert.deepEqual(
    m.order.map((i) => m.spans[i]?.depth),
    [0, 1, 1, 2, 0],
  );
  assert.deepEqual(m.services, ['front', 'back']);
  assert.equal(m.errorCount, 1);
  assert.equal(m.orphanCount, 1);
  assert.equal(m.endMs - m.startMs, 100);
  const c = m.spans.find((s) => s.name === 'c');
  assert.equal(c?.statusMessage, 'boom');
  assert.deepEqual(c?.attributes, [
    { key: 'http.status_code', value: '500' },
    { key: 'tags', value: '["a"]' },
  ]);
  assert.equal(c?.scopeName, 'lib');
});

test('critical path: root, then the child finishing last, then what that waited for', () => {
  const m = buildTraceModel('t', sample);
  const crit = m.spans
    .filter((s) => s.critical)
    .map((s) => s.name)
    .sort();
  // b ends at 90 (c inside it ends at 85); a ends at 30 > b's start 20, so a is cut at 20 and stays on it.
  assert.deepEqual(crit, ['a', 'b', 'c', 'root']);
  assert.equal(m.spans.find((s) => s.name === 'orphan')?.critical, false);
});

test('collapsing hides a subtree; find searches names, services and attributes', () => {
  const m = buildTraceModel('t', sample);
  const b = m.spans.findIndex((s) => s.name === 'b');
  assert.deepEqual(
    visibleRows(m, new Set([b])).map((i) => m.spans[i]?.name),
    ['root', 'a', 'b', 'orphan'],
  );
  const root = m.spans.findIndex((s) => s.name === 'root');
  assert.deepEqual(
    visibleRows(m, new Set([root])).map((i) => m.spans[i]?.name),
    ['root', 'orphan'],
  );
  assert.deepEqual(
    findSpans(m, 'BACK').map((i) => m.spans[i]?.name),
    ['c'],
  );
  assert.equal(findSpans(m, '500').length, 5);
  assert.deepEqual(findSpans(m, '  '), []);
});

test('a parent cycle and a deep chain do not hang or overflow', () => {
  const cyc = buildTraceModel(
    't',
    answer('s', [
      { id: '0000000000000001', parent: '0000000000000002', name: 'x', start: 0, end: 1 },
      { id: '0000000000000002', parent: '0000000000000001', name: 'y', start: 0, end: 1 },
    ]),
  );
  assert.equal(cyc.order.length, 2);
  const chain: S[] = [];
  for (let i = 0; i < 20_000; i++)
    chain.push({
      id: (i + 1).toString(16).padStart(16, '0'),
      ...(i > 0 ? { parent: i.toString(16).padStart(16, '0') } : {}),
      name: `n${i}`,
      start: i,
      end: 40_000 - i,
    });
  const deep = buildTraceModel('t', answer('s', chain));
  assert.equal(deep.spans[deep.order[deep.order.length - 1] ?? 0]?.depth, 19_999);
  assert.equal(deep.spans.filter((s) => s.critical).length, 20_000);
});

test('compare groups spans by service:name path', () => {
  const a = buildTraceModel('a', sample);
  const b = buildTraceModel(
    'b',
    answer('front', [
      { id: '0000000000000001', name: 'root', start: 0, end: 50 },
      { id: '0000000000000002', parent: '0000000000000001', name: 'z', start: 1, end: 2 },
    ]),
  );
  const rows = compareTraces(a, b);
  assert.deepEqual(
    rows.map((r) => [r.label, r.countA, r.countB]),
    [
      ['front: orphan', 1, 0],
      ['front: root', 1, 1],
      ['front: a', 1, 0],
      ['front: b', 1, 0],
      ['back: c', 1, 0],
      ['front: z', 0, 1],
    ],
  );
  assert.equal(rows.find((r) => r.label === 'front: root')?.durationB, 50);
});

test('TraceQL assist: tokens, caret context, tag names, builder', () => {
  assert.deepEqual(
    tokenize('{ span.x = "a" }').map((t) => t.kind),
    ['brace', 'text', 'attribute', 'text', 'operator', 'text', 'string', 'text', 'brace'],
  );
  assert.deepEqual(
    tokenize('{ duration > 10ms }')
      .filter((t) => t.kind !== 'text')
      .map((t) => t.kind),
    ['brace', 'intrinsic', 'operator', 'number', 'brace'],
  );
  assert.deepEqual(assistContext('{ resource.ser', 14), { kind: 'tag', prefix: 'resource.ser', from: 2 });
  assert.deepEqual(assistContext('{ a = 1 && na', 13), { kind: 'tag', prefix: 'na', from: 11 });
  assert.deepEqual(assistContext('{ resource.service.name = "che', 30), { kind: 'value', tag: 'resource.service.name', prefix: 'che', from: 26 });
  assert.deepEqual(assistContext('{ a = 1 }', 9), { kind: 'none' });
  assert.deepEqual(
    scopedTagNames([
      { name: 'resource', tags: ['service.name'] },
      { name: 'intrinsic', tags: ['name'] },
    ]),
    ['name', 'resource.service.name'],
  );
  assert.equal(
    builderQuery({ service: 'a"b', spanName: '', status: 'error', minDuration: '10ms', maxDuration: '' }),
    '{ resource.service.name = "a\\"b" && status = error && duration > 10ms }',
  );
  assert.equal(builderQuery({ service: '', spanName: '', status: '', minDuration: '', maxDuration: '' }), '{}');
});
