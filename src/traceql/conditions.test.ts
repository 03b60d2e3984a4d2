import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from './parser.js';
import { extractConditions } from './conditions.js';

const c = (q: string) => extractConditions(parse(q));

test('a plain conjunction: every condition must hold on one span', () => {
  assert.deepEqual(c('{ span.a = 1 && resource.b = "x" }'), {
    conditions: [
      { scope: 'span', name: 'a', op: '=', value: { type: 'int', value: 1 } },
      { scope: 'resource', name: 'b', op: '=', value: { type: 'string', value: 'x' } },
    ],
    allConditions: true,
    needAllSpans: false,
  });
  const s = c('{ status = error } | count() > 2');
  assert.deepEqual(s.conditions, [{ scope: 'intrinsic', name: 'status', op: '=', value: { type: 'status', value: 'error' } }]);
  assert.equal(s.needAllSpans, false);
});

test('disjunctions and spanset && give any-of conditions', () => {
  const o = c('{ .a = 1 || name = "x" }');
  assert.equal(o.conditions.length, 2);
  assert.equal(o.allConditions, false);
  assert.equal(o.needAllSpans, false);
  const a = c('{ .a = 1 } && { .b = 2 }');
  assert.equal(a.conditions.length, 2);
  assert.equal(a.allConditions, false);
  assert.equal(a.needAllSpans, false);
});

test('literal on the left is flipped; nil becomes exists', () => {
  assert.deepEqual(c('{ 5ms < duration }').conditions, [{ scope: 'intrinsic', name: 'duration', op: '>', value: { type: 'duration', value: 5e6 } }]);
  assert.deepEqual(c('{ .a != nil }').conditions, [{ scope: 'none', name: 'a', op: 'exists' }]);
});

test('structure, negation and whole-trace aggregates need every span', () => {
  const s = c('{ .a = 1 } > { .b = 2 }');
  assert.equal(s.needAllSpans, true);
  assert.deepEqual(
    s.conditions.map((x) => x.name),
    ['b'],
  );
  assert.deepEqual(c('{ !(.a = 1) }'), { conditions: [], allConditions: false, needAllSpans: true });
  assert.equal(c('{}').needAllSpans, true);
  assert.equal(c('count() > 2').needAllSpans, true);
  assert.equal(c('{ .a = 1 } | { !(.b = 2) }').needAllSpans, true);
  assert.equal(c('{ span:childCount > 1 }').needAllSpans, true);
});

test('metrics queries use their selection', () => {
  const m = c('{ resource.service.name = "api" } | rate() by (name)');
  assert.deepEqual(
    m.conditions.map((x) => x.name),
    ['service.name'],
  );
});
