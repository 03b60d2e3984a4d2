// Malformed legacy `tags=` and hostile `q=` must be a BadRequest (400) with a clear message, never a 500.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BadRequest, legacyTagsToTraceQL, parseLogfmt, parseSearchParams } from './search-params.js';

const limits = { defaultLimit: 20, maxLimit: 0, defaultSpss: 3, maxSpss: 0, maxResponseBytes: 0 };

function badRequest(qs: { q?: string; tags?: string }, message: RegExp): void {
  assert.throws(
    () => parseSearchParams(qs, limits),
    (e: unknown) => e instanceof BadRequest && message.test(e.message),
    JSON.stringify(qs).slice(0, 80),
  );
}

test('logfmt: quoted values, escapes, spacing', () => {
  assert.deepEqual(parseLogfmt(' a=b   c="d e"\td="x \\" \\\\ \\n \\u00e9" e= '), [
    ['a', 'b'],
    ['c', 'd e'],
    ['d', 'x " \\ \n é'],
    ['e', ''],
  ]);
  assert.deepEqual(parseLogfmt(''), []);
  assert.deepEqual(parseLogfmt('   '), []);
});

test('malformed legacy tags are a BadRequest naming the place', () => {
  const garbage = [
    'a="unterminated',
    '"',
    '=',
    '= =',
    '=value',
    'key',
    'a=b"c',
    'a="b"c',
    '"a"=b',
    'a="\\x"',
    'a="\\u12"',
    'a="\\',
    'a="\u0001"',
    'a="line\nbreak"',
    'ok=1 then garbage',
    'x'.repeat(1_000_000) + '="',
    '"'.repeat(100_000),
  ];
  for (const tags of garbage) badRequest({ tags }, /^invalid tags: .* at offset \d+ near /);
});

test('odd but well-formed tags are searched for, not refused', () => {
  for (const tags of ['a\u0000b=c', 'k="quote \\" and backslash \\\\"', 'x.y/z:w-1=v', 'a=\u0007', 'ключ=значение', 'a=b=c']) {
    assert.equal(parseSearchParams({ tags }, limits).query.kind, 'spansetQuery', tags);
  }
  // Attribute names with backslashes or syntax characters survive the trip through TraceQL.
  assert.equal(legacyTagsToTraceQL('a\\b|c=v'), '{ ."a\\\\b|c" = "v" }');
  assert.equal(parseSearchParams({ tags: 'a\\b=v' }, limits).query.kind, 'spansetQuery');
});

test('too many tags or a huge TraceQL query is a BadRequest', () => {
  badRequest({ tags: 'k=v '.repeat(5000) }, /invalid TraceQL query: .*too deep/);
  badRequest({ q: `{ .a = "${'x'.repeat(200_000)}" }` }, /invalid TraceQL query: .*maximum size/);
  badRequest({ q: '('.repeat(5000) }, /invalid TraceQL query: .*nests too deeply/);
  badRequest({ q: `{ ${'!'.repeat(14_000)}true }` }, /invalid TraceQL query: .*nests too deeply/);
  badRequest({ q: '{ name =~ "(?=a)a" }' }, /invalid TraceQL query: invalid regular expression "\(\?=a\)a"/);
});

test('query_frontend.max_query_expression_size_bytes bounds the query text', () => {
  const small = { ...limits, maxQueryBytes: 16 };
  assert.throws(
    () => parseSearchParams({ q: '{ span.http.route = "/a/long/route" }' }, small),
    (e: unknown) => e instanceof BadRequest,
  );
  assert.equal(parseSearchParams({ q: '{ }' }, small).limit, 20);
});
