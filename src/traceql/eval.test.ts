import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from './parser.js';
import { buildEvalTrace, compile, evaluate, type Spanset } from './eval.js';
import { TraceQLUnsupportedError } from './errors.js';
import { IDS, LINKED_TRACE_ID, TRACE_ID, sampleTrace } from '../../test/support/traceql-eval.js';

const trace = buildEvalTrace(sampleTrace());
const NAME_OF: Record<string, string> = { [IDS.A]: 'A', [IDS.B]: 'B', [IDS.C]: 'C', [IDS.D]: 'D' };

function run(q: string): Spanset[] {
  return evaluate(parse(q), trace);
}
/** Letters of the matched spans, all spansets together, sorted. */
function spans(q: string): string {
  const out = new Set<string>();
  for (const ss of run(q)) for (const s of ss.spans) out.add(NAME_OF[s.spanId]!);
  return [...out].sort().join('');
}

test('buildEvalTrace: root, services, nested sets', () => {
  assert.equal(trace.traceId, TRACE_ID);
  assert.equal(trace.rootServiceName, 'frontend');
  assert.equal(trace.rootName, 'GET /');
  assert.equal(trace.durationNano, 100_000_000n);
  const byName = Object.fromEntries(trace.spans.map((s) => [NAME_OF[s.spanId]!, s]));
  assert.equal(byName['A']!.nestedLeft, 1);
  assert.equal(byName['A']!.nestedRight, 8);
  assert.equal(byName['D']!.nestedParent, byName['B']!.nestedLeft);
  assert.equal(byName['B']!.events[0]!.timeSinceStartNano, 10_000_000n);
});

test('filters on attributes', () => {
  assert.equal(spans('{}'), 'ABCD');
  assert.equal(run('{}').length, 1);
  assert.equal(spans('{ true }'), 'ABCD');
  assert.equal(spans('{ false }'), '');
  assert.equal(spans('{ .http.method = "GET" }'), 'A');
  assert.equal(spans('{ span.http.status_code >= 200 && span.http.status_code < 300 }'), 'A');
  assert.equal(spans('{ .http.status_code != 200 }'), 'C'); // missing attributes never match !=
  assert.equal(spans('{ .http.status_code = "200" }'), ''); // types must match
  assert.equal(spans('{ .ratio = 0.5 }'), 'B');
  assert.equal(spans('{ .retries * 2 = 6 }'), 'B');
  assert.equal(spans('{ -.retries = -3 }'), 'B');
  assert.equal(spans('{ span."foo bar" = "spaced" }'), 'A');
  assert.equal(spans('{ .sampled }'), 'A');
  assert.equal(spans('{ !.sampled }'), 'C');
  assert.equal(spans('{ .user.id =~ "4.*" }'), 'C');
  assert.equal(spans('{ .user.id !~ "4.*" }'), '');
  assert.equal(spans('{ instrumentation.lib.flavor = "vanilla" }'), 'ABC');
});

test('unscoped attributes: span attribute first, then resource', () => {
  assert.equal(spans('{ .env = "prod" }'), 'AB');
  assert.equal(spans('{ .env = "override" }'), 'C');
  assert.equal(spans('{ resource.env = "prod" }'), 'ABC');
  assert.equal(spans('{ span.env = "prod" }'), '');
  assert.equal(spans('{ resource.service.name = "db" }'), 'D');
  assert.equal(spans('{ .service.name = "frontend" }'), 'ABC');
});

test('nil comparisons', () => {
  assert.equal(spans('{ .user.id != nil }'), 'C');
  assert.equal(spans('{ .user.id = nil }'), 'ABD');
  assert.equal(spans('{ nil = nil }'), 'ABCD');
  assert.equal(spans('{ nil != nil }'), '');
});

test('intrinsics', () => {
  assert.equal(spans('{ duration > 20ms }'), 'AB');
  assert.equal(spans('{ span:duration <= 10ms }'), 'CD');
  assert.equal(spans('{ duration / 2 > 10ms }'), 'AB');
  assert.equal(spans('{ name = "db query" }'), 'B');
  assert.equal(spans('{ name =~ "db.*" }'), 'B');
  assert.equal(spans('{ name =~ "db" }'), ''); // regexes are anchored
  assert.equal(spans('{ name =~ "(?i)DB QUERY" }'), 'B');
  assert.equal(spans('{ status = error }'), 'B');
  assert.equal(spans('{ status != unset }'), 'BD');
  assert.equal(spans('{ span:status = ok }'), 'D');
  assert.equal(spans('{ statusMessage = "boom" }'), 'B');
  assert.equal(spans('{ kind = client }'), 'BC');
  assert.equal(spans('{ kind = server }'), 'A');
  assert.equal(spans('{ span:kind = internal }'), 'D');
  assert.equal(spans('{ rootServiceName = "frontend" && traceDuration >= 100ms }'), 'ABCD');
  assert.equal(spans('{ trace:rootService = "frontend" && trace:rootName = "GET /" && trace:duration = 100ms }'), 'ABCD');
  assert.equal(spans(`{ trace:id = "${TRACE_ID}" }`), 'ABCD');
  assert.equal(spans(`{ span:id = "${IDS.C}" }`), 'C');
  assert.equal(spans(`{ span:parentID = "${IDS.A}" }`), 'BC');
  assert.equal(spans('{ event:name = "exception" }'), 'B');
  assert.equal(spans('{ event:timeSinceStart = 10ms }'), 'B');
  assert.equal(spans('{ event.exception.type = "Timeout" }'), 'B');
  assert.equal(spans(`{ link:traceID = "${LINKED_TRACE_ID}" }`), 'C');
  assert.equal(spans('{ link:spanID = "1111111111111111" && link.kind = "follows" }'), 'C');
  assert.equal(spans('{ instrumentation:name = "lib-sql" && instrumentation:version = "2.0" }'), 'D');
  assert.equal(spans('{ span:childCount = 2 }'), 'A');
  assert.equal(spans('{ nestedSetLeft = 1 }'), 'A');
  assert.equal(spans('{ .x = ok }'), ''); // an attribute never holds a status
});

test('array attributes match when any element matches', () => {
  assert.equal(spans('{ .tags = "b" }'), 'A');
  assert.equal(spans('{ .tags =~ "a|z" }'), 'A');
  assert.equal(spans('{ .tags != "c" }'), 'A');
  assert.equal(spans('{ .tags != "a" }'), '');
});

test('logical spanset operators', () => {
  assert.equal(spans('{ name = "GET /" } && { status = error }'), 'AB');
  assert.equal(spans('{ name = "GET /" } && { name = "nope" }'), '');
  assert.equal(spans('{ name = "nope" } || { status = error }'), 'B');
  assert.equal(spans('{ name = "nope" } || { name = "nada" }'), '');
});

test('structural operators', () => {
  assert.equal(spans('{ name = "GET /" } > { kind = client }'), 'BC');
  assert.equal(spans('{ name = "GET /" } > { }'), 'BC');
  assert.equal(spans('{ name = "GET /" } >> { }'), 'BCD');
  assert.equal(spans('{ name = "sql exec" } < { }'), 'B');
  assert.equal(spans('{ name = "sql exec" } << { }'), 'AB');
  assert.equal(spans('{ name = "db query" } ~ { }'), 'C');
  assert.equal(spans('{ kind = client } ~ { kind = client }'), 'BC');
  assert.equal(spans('{ name = "sql exec" } ~ { }'), '');
  // negated: right-hand spans without the relation
  assert.equal(spans('{ name = "GET /" } !> { }'), 'AD');
  assert.equal(spans('{ name = "GET /" } !>> { }'), 'A');
  assert.equal(spans('{ name = "sql exec" } !< { }'), 'ACD');
  assert.equal(spans('{ name = "sql exec" } !<< { }'), 'CD');
  assert.equal(spans('{ name = "db query" } !~ { }'), 'ABD');
  // union: both sides of each matching pair
  assert.equal(spans('{ name = "GET /" } &> { kind = client }'), 'ABC');
  assert.equal(spans('{ name = "sql exec" } &< { }'), 'BD');
  assert.equal(spans('{ name = "GET /" } &>> { name = "sql exec" }'), 'AD');
  assert.equal(spans('{ name = "sql exec" } &<< { name = "GET /" }'), 'AD');
  assert.equal(spans('{ name = "db query" } &~ { }'), 'BC');
  // chains and wrapped pipelines
  assert.equal(spans('{ kind = server } > { kind = client } > { }'), 'D');
  assert.equal(spans('({ kind = client } | count() > 1) > ({ } | count() > 0)'), 'D');
});

test('aggregates filter spansets', () => {
  const r = run('{ kind = client } | count() = 2');
  assert.equal(r.length, 1);
  assert.deepEqual(r[0]!.attributes, [{ name: 'count()', value: { type: 'int', value: 2 } }]);
  assert.equal(spans('{ kind = client } | count() > 2'), '');
  assert.equal(spans('{ } | avg(duration) > 30ms'), 'ABCD'); // 36.25ms
  assert.equal(spans('{ } | max(duration) < 50ms'), '');
  assert.equal(spans('{ } | sum(duration) = 145ms'), 'ABCD');
  assert.equal(spans('{ } | min(duration) = 5ms | { kind = client }'), 'BC');
  assert.equal(spans('{ } | avg(.retries) = 3'), 'ABCD');
  assert.equal(spans('count() = 4'), 'ABCD');
  assert.equal(spans('{ } | max(duration) > 1s - 950ms'), 'ABCD');
});

test('by() splits, coalesce() merges, select() adds values keyed by attribute name without scope', () => {
  const groups = run('{ } | by(resource.service.name)');
  assert.equal(groups.length, 2);
  const named = groups.map((g) => [(g.attributes[0]!.value as { value: string }).value, g.spans.length]).sort();
  assert.deepEqual(named, [
    ['db', 1],
    ['frontend', 3],
  ]);
  assert.equal(groups[0]!.attributes[0]!.name, 'by(resource.service.name)');
  const big = run('{ } | by(resource.service.name) | count() > 1');
  assert.equal(big.length, 1);
  assert.equal(big[0]!.spans.length, 3);
  assert.equal(run('{ } | by(kind) | coalesce()').length, 1);
  assert.equal(spans('{ } | by(kind) | coalesce()'), 'ABCD');

  const sel = run('{ status = error } | select(span.db.system, duration, status)');
  assert.equal(sel.length, 1);
  const b = sel[0]!.spans[0]!;
  assert.deepEqual(sel[0]!.selected.get(b), [
    { name: 'db.system', value: { type: 'string', value: 'postgres' } },
    { name: 'duration', value: { type: 'duration', value: 30_000_000 } },
    { name: 'status', value: { type: 'status', value: 'error' } },
  ]);
});

test('metrics queries are not evaluated here', () => {
  assert.throws(() => compile(parse('{} | rate()')), TraceQLUnsupportedError);
});

test('empty trace gives no spansets', () => {
  assert.deepEqual(evaluate(parse('{}'), { ...trace, spans: [] }), []);
});
