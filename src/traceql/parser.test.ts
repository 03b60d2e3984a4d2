import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from './parser.js';
import { validate } from './validate.js';
import { formatField } from './format.js';
import { TraceQLParseError, TraceQLUnsupportedError, TraceQLValidationError } from './errors.js';
import type { FieldExpr, PipelineStage, RootExpr, SpansetExpr } from './ast.js';

function stages(q: string): readonly PipelineStage[] {
  const r = parse(q);
  assert.equal(r.kind, 'spansetQuery');
  return (r as Extract<RootExpr, { kind: 'spansetQuery' }>).pipeline.stages;
}
function filterExpr(q: string): FieldExpr {
  const s = stages(q)[0]!;
  assert.equal(s.kind, 'filter');
  return (s as Extract<SpansetExpr, { kind: 'filter' }>).expr;
}
function shape(e: SpansetExpr): string {
  if (e.kind === 'filter') return formatField(e.expr);
  if (e.kind === 'spansetOp') return `(${shape(e.lhs)} ${e.op} ${shape(e.rhs)})`;
  return 'pipeline';
}

test('field precedence: || < && < comparison < + < * < ^ (right)', () => {
  assert.equal(formatField(filterExpr('{ .a = 1 || .b = 2 && .c = 3 }')), '(.a = 1) || ((.b = 2) && (.c = 3))');
  assert.equal(formatField(filterExpr('{ 1 + 2 * 3 = 7 }')), '(1 + (2 * 3)) = 7');
  assert.equal(formatField(filterExpr('{ 2 ^ 3 ^ 2 = 512 }')), '(2 ^ (3 ^ 2)) = 512');
  assert.equal(formatField(filterExpr('{ 10 - 2 - 3 = 5 }')), '((10 - 2) - 3) = 5');
  assert.equal(formatField(filterExpr('{ !.a && .b }')), '!.a && .b');
  assert.equal(formatField(filterExpr('{ -.a = 2 }')), '-.a = 2');
  assert.equal(formatField(filterExpr('{ !(.a || .b) }')), '!(.a || .b)');
});

test('spanset precedence: structural binds tighter than && and ||, left to right', () => {
  assert.equal(shape(stages('{ .a } && { .b } > { .c }')[0] as SpansetExpr), '(.a && (.b > .c))');
  assert.equal(shape(stages('{ .a } > { .b } >> { .c }')[0] as SpansetExpr), '((.a > .b) >> .c)');
  assert.equal(shape(stages('{ .a } || { .b } && { .c }')[0] as SpansetExpr), '(.a || (.b && .c))');
  assert.equal(shape(stages('({ .a } || { .b }) !~ { .c }')[0] as SpansetExpr), '((.a || .b) !~ .c)');
  assert.equal(shape(stages('{ .a } &>> { .b }')[0] as SpansetExpr), '(.a &>> .b)');
});

test('pipelines: filters, scalar filters, by, select, coalesce', () => {
  const s = stages('{ .a } | by(resource.x) | count() > 2 | select(.b, span:duration) | coalesce()');
  assert.deepEqual(
    s.map((x) => x.kind),
    ['filter', 'groupBy', 'scalarFilter', 'select', 'coalesce'],
  );
  const sf = stages('{ } | avg(duration) > 1s - 500ms')[1]!;
  assert.equal(sf.kind, 'scalarFilter');
  const w = stages('({ .a } | count() > 1) && { .b }')[0]!;
  assert.equal(w.kind, 'spansetOp');
});

test('literals: durations, escapes, quoted names, intrinsics', () => {
  const d = filterExpr('{ duration > 1.5s }');
  assert.deepEqual(d, {
    kind: 'binary',
    op: '>',
    lhs: { kind: 'intrinsic', name: 'duration', text: 'duration' },
    rhs: { kind: 'static', value: { type: 'duration', value: 1.5e9 } },
  });
  const hm = filterExpr('{ duration < 1h30m }') as Extract<FieldExpr, { kind: 'binary' }>;
  assert.deepEqual(hm.rhs, { kind: 'static', value: { type: 'duration', value: 5400e9 } });
  const esc = filterExpr('{ .a = "x\\"y\\n" }') as Extract<FieldExpr, { kind: 'binary' }>;
  assert.deepEqual(esc.rhs, { kind: 'static', value: { type: 'string', value: 'x"y\n' } });
  const raw = filterExpr('{ .a = `a\\b` }') as Extract<FieldExpr, { kind: 'binary' }>;
  assert.deepEqual(raw.rhs, { kind: 'static', value: { type: 'string', value: 'a\\b' } });
  const q = filterExpr('{ span."foo \\"x\\" bar" = 1 }') as Extract<FieldExpr, { kind: 'binary' }>;
  assert.deepEqual(q.lhs, { kind: 'attribute', scope: 'span', name: 'foo "x" bar', parent: false });
  const r = filterExpr('{ resource.service.name = "a" }') as Extract<FieldExpr, { kind: 'binary' }>;
  assert.deepEqual(r.lhs, { kind: 'attribute', scope: 'resource', name: 'service.name', parent: false });
  const i = filterExpr('{ trace:rootService = "a" }') as Extract<FieldExpr, { kind: 'binary' }>;
  assert.deepEqual(i.lhs, { kind: 'intrinsic', name: 'rootServiceName', text: 'trace:rootService' });
});

test('metrics queries and hints', () => {
  const r = parse('{ status = error } | quantile_over_time(duration, 0.5, 0.99) by (resource.service.name) | topk(3) with(sample=0.1, exemplars=true)');
  assert.equal(r.kind, 'metricsQuery');
  if (r.kind !== 'metricsQuery' || r.metrics.kind !== 'metricsPipeline') throw new Error('shape');
  assert.equal(r.metrics.aggregation.fn, 'quantile_over_time');
  assert.deepEqual(r.metrics.aggregation.quantiles, [0.5, 0.99]);
  assert.deepEqual(r.metrics.stages, [{ kind: 'topk', k: 3 }]);
  assert.deepEqual(r.hints, [
    { name: 'sample', value: { type: 'float', value: 0.1 } },
    { name: 'exemplars', value: { type: 'bool', value: true } },
  ]);
  const m = parse('({} | rate()) * 100 / ({} | count_over_time()) > 5');
  assert.equal(m.kind, 'metricsQuery');
  validate(m);
  assert.throws(() => validate(parse('{} | compare({status=error}) | topk(1)')), TraceQLValidationError);
});

test('parse errors carry line and column', () => {
  assert.throws(
    () => parse('{ .a < }'),
    (e: unknown) => e instanceof TraceQLParseError && /^parse error at line 1 col 8: /.test(e.message),
  );
  assert.throws(
    () => parse('{ .a = 1 }\n| { attribute = 4 }'),
    (e: unknown) => e instanceof TraceQLParseError && e.position.line === 2 && e.position.col === 5,
  );
  assert.throws(() => parse('{ .a == 1 }'), TraceQLParseError);
  assert.throws(() => parse('{ "unterminated }'), TraceQLParseError);
});

test('validation and unsupported errors', () => {
  assert.throws(() => validate(parse('{ .a = 1 } | count() > "x"')), TraceQLParseError);
  assert.throws(() => validate(parse('{ duration > "1s" }')), TraceQLValidationError);
  assert.throws(() => validate(parse('{ "a" + 1 = 2 }')), TraceQLValidationError);
  assert.throws(() => validate(parse('{ status > ok }')), TraceQLValidationError);
  assert.throws(() => validate(parse('{ .a =~ "(" }')), TraceQLValidationError);
  assert.throws(() => validate(parse('{ parent.a = 1 }')), TraceQLUnsupportedError);
  assert.throws(() => validate(parse('{ } | max(duration) > min(duration)')), TraceQLUnsupportedError);
  validate(parse('{ .a =~ "(?i)abc" }'));
});
