// Hostile query shapes must end in TraceQLParseError (a 400), never a RangeError (a 500); and the
// deepest query the limits let through must survive every recursive pass of the engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from './parser.js';
import { validate } from './validate.js';
import { evaluate, buildEvalTrace } from './eval.js';
import { extractConditions } from './conditions.js';
import { formatField } from './format.js';
import { TraceQLParseError } from './errors.js';
import { DEFAULT_PARSE_LIMITS } from './limits.js';
import { sampleTrace } from '../../test/support/traceql-eval.js';
import type { RootExpr } from './ast.js';

const { maxNesting, maxDepth, maxQueryBytes } = DEFAULT_PARSE_LIMITS;

function refused(q: string, detail: RegExp): void {
  assert.throws(
    () => parse(q),
    (err: unknown) => err instanceof TraceQLParseError && detail.test(err.detail),
  );
}

test('deep nesting is a parse error, not a stack overflow', () => {
  const tooDeep = /nests too deeply/;
  refused('('.repeat(5000) + '{}' + ')'.repeat(5000), tooDeep);
  refused('{ ' + '('.repeat(5000) + 'true' + ')'.repeat(5000) + ' }', tooDeep);
  refused('{ ' + '!'.repeat(14000) + 'true }', tooDeep);
  refused('{ ' + '-'.repeat(14000) + '1 = -1 }', tooDeep);
  refused('{ 2' + ' ^ 2'.repeat(5000) + ' > 1 }', tooDeep);
  refused('(' + '('.repeat(5000), tooDeep);
  refused('{ '.repeat(5000), /unexpected "\{"/);
  refused('count_over_time('.repeat(5000), /./);
});

test('long operator chains are a parse error past maxDepth', () => {
  const tooTall = /too deep/;
  refused('{ ' + Array(2000).fill('.a = 1').join(' && ') + ' }', tooTall);
  refused('{ ' + Array(2000).fill('.a = 1').join(' || ') + ' }', tooTall);
  refused(Array(5000).fill('{ .a = 1 }').join(' && '), tooTall);
  refused(Array(5000).fill('{ .a = 1 }').join(' >> '), tooTall);
  refused('{ ' + Array(2000).fill('1').join(' + ') + ' = 1 }', tooTall);
  refused('{ } | count() > ' + Array(2000).fill('1').join(' + '), tooTall);
  // Chains built from nested groups: each group's chain is short, the whole tree is tall.
  let q = '{ .a = 1 }';
  for (let i = 0; i < 150; i++) q = `(${q}${' && { .a = 1 }'.repeat(20)})`;
  refused(q, tooTall);
});

test('queries larger than maxQueryBytes are refused before parsing', () => {
  refused(`{ .a = "${'x'.repeat(maxQueryBytes)}" }`, /exceeds the maximum size/);
  refused(`{ .a = "${'é'.repeat(maxQueryBytes / 2)}" }`, /exceeds the maximum size/);
  assert.doesNotThrow(() => parse(`{ .a = "${'x'.repeat(maxQueryBytes - 20)}" }`));
});

test('the deepest accepted queries pass through parse, validate, conditions, format and evaluation', () => {
  const trace = buildEvalTrace(sampleTrace());
  const conds = maxDepth - 5;
  const queries = [
    '{ ' + Array(conds).fill('.http.method = "GET"').join(' && ') + ' }',
    '{ ' + Array(conds).fill('name =~ "G.*"').join(' || ') + ' }',
    Array(conds).fill('{ name = "GET /" }').join(' && '),
    Array(conds).fill('{ }').join(' >> '),
    '{ ' + Array(conds).fill('duration').join(' + ') + ' > 0 }',
    '('.repeat(maxNesting - 1) + '{ true }' + ')'.repeat(maxNesting - 1),
    '{ ' + '('.repeat(maxNesting - 2) + 'true' + ')'.repeat(maxNesting - 2) + ' }',
    '{ ' + '!'.repeat(maxNesting - 2) + 'true }',
    '{ ' + '-'.repeat(maxNesting - 3) + '1 != 0 }',
    Array(5000).fill('{ .a = 1 }').join(' | '),
    '{ } | count() > ' + Array(conds).fill('1').join(' + '),
  ];
  for (const q of queries) {
    let root: RootExpr;
    try {
      root = parse(q);
    } catch (err) {
      assert.fail(`${q.slice(0, 60)}…: ${(err as Error).message}`);
    }
    validate(root);
    extractConditions(root);
    evaluate(root, trace);
    if (root.kind === 'spansetQuery') {
      for (const s of root.pipeline.stages) if (s.kind === 'filter') formatField(s.expr);
    }
  }
});
