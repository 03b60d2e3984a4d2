// TraceQL regexes follow RE2 as Tempo uses it (whole value, `.` matches newline) and never backtrack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRegex, portablePattern } from './regex.js';
import { parse } from './parser.js';
import { validate } from './validate.js';
import { evaluate, buildEvalTrace } from './eval.js';
import { TraceQLValidationError } from './errors.js';
import { sampleTrace } from '../../test/support/traceql-eval.js';

function matches(pattern: string, value: string): boolean {
  return compileRegex(pattern).test(value);
}

test('the catastrophic pattern on a 33-character value finishes (RE2 does not backtrack)', () => {
  const value = 'a'.repeat(32) + '!';
  assert.equal(matches('(a+)+b|.*', value), true);
  assert.equal(matches('(a+)+$', value), false);
  assert.equal(matches('(a|a)*b', value), false);
  assert.equal(matches('(a+)+b', 'a'.repeat(100_000) + '!'), false);
});

test('patterns match the whole value', () => {
  assert.equal(matches('GET', 'GET'), true);
  assert.equal(matches('GET', 'GET /'), false);
  assert.equal(matches('GET', 'x GET'), false);
  assert.equal(matches('GET /api/.*', 'GET /api/v1/traces'), true);
  assert.equal(matches('a|b', 'a'), true);
  assert.equal(matches('a|b', 'ab'), false);
  assert.equal(matches('^a$', 'a'), true);
  assert.equal(matches('', ''), true);
  assert.equal(matches('', 'a'), false);
});

test('Go RE2 syntax: flags, named groups, \\A and \\z, Unicode and POSIX classes', () => {
  assert.equal(matches('(?i)foo|bar', 'FOO'), true);
  assert.equal(matches('(?i)foo|bar', 'BAR'), true);
  assert.equal(matches('foo', 'FOO'), false);
  assert.equal(matches('(?P<method>GET|POST) /', 'POST /'), true);
  assert.equal(matches('(?<method>GET|POST) /', 'GET /'), true);
  assert.equal(matches('\\Afoo\\z', 'foo'), true);
  assert.equal(matches('\\pL+', 'héllo'), true);
  assert.equal(matches('\\p{Greek}+', 'αβγ'), true);
  assert.equal(matches('\\PL+', '123'), true);
  assert.equal(matches('[[:alpha:]]+', 'abc'), true);
  assert.equal(matches('[[:digit:]]+', 'abc'), false);
  assert.equal(matches('\\d{3}', '500'), true);
  assert.equal(matches('\\w+', 'héllo'), false); // \w is ASCII in RE2
  assert.equal(matches('\\Qa.b\\E', 'a.b'), true);
  assert.equal(matches('\\Qa.b\\E', 'axb'), false);
  assert.equal(matches('.', '😀'), true); // one code point, not two UTF-16 units
  assert.equal(matches('\\x{1F600}', '😀'), true);
  assert.equal(matches('(?U)a+', 'aaa'), true);
});

test('. matches newline (Tempo anchors as ^(?s:pattern)$); (?-s) turns it off; $ is end of text', () => {
  assert.equal(matches('a.b', 'a\nb'), true);
  assert.equal(matches('.*error.*', 'line 1\nerror here\nline 3'), true);
  assert.equal(matches('(?-s)a.b', 'a\nb'), false);
  assert.equal(matches('a$', 'a\nb'), false);
  assert.equal(matches('(?m)a$\nb', 'a\nb'), true);
});

test('patterns RE2 refuses are validation errors naming the reason', () => {
  const cases: [string, RegExp][] = [
    ['(?=a)a', /invalid or unsupported Perl syntax: `\(\?=`/],
    ['(?!a)b', /invalid or unsupported Perl syntax/],
    ['(?<=a)a', /invalid named capture/],
    ['(a)\\1', /invalid escape sequence: `\\1`/],
    ['a++', /invalid nested repetition operator/],
    ['a{1001}', /invalid repeat count/],
    ['(a', /missing closing \)/],
    ['a)|(b', /unexpected \): `a\)\|\(b`/],
    ['[z-a]', /invalid character class range/],
    ['*', /missing argument to repetition operator/],
    ['\\C', /invalid escape sequence/],
  ];
  for (const [pattern, reason] of cases) {
    assert.throws(
      () => compileRegex(pattern),
      (err: unknown) => err instanceof TraceQLValidationError && err.message.includes(JSON.stringify(pattern)) && reason.test(err.message),
      pattern,
    );
    // The same refusal on the query path, for =~ and !~.
    for (const op of ['=~', '!~']) {
      assert.throws(() => validate(parse(`{ name ${op} ${JSON.stringify(pattern)} }`)), TraceQLValidationError, `${op} ${pattern}`);
    }
  }
});

test('evaluation uses the same engine: anchoring, arrays, !~ and patterns read from attributes', () => {
  const trace = buildEvalTrace(sampleTrace());
  const count = (q: string): number => evaluate(parse(q), trace).reduce((n, ss) => n + ss.spans.length, 0);
  assert.equal(count('{ name =~ "GET" }'), 0);
  assert.equal(count('{ name =~ "GET.*" }'), 1);
  assert.equal(count('{ name =~ "(?i)get /" }'), 1);
  assert.equal(count('{ name !~ ".*" }'), 0);
  assert.equal(count('{ name =~ "(a+)+b|.*" }'), 4);
  // Patterns read from the span itself.
  assert.equal(count('{ name =~ name }'), 4);
  assert.equal(count('{ name =~ statusMessage }'), 0);
});

test('portable patterns give DuckDB (C++ RE2, blocks pre-filter) the same answers as evaluation', async () => {
  const { withDuckDB, sqlString } = await import('../block/duckdb.js');
  const patterns = [
    'a.b',
    '.*error.*',
    '(?-s)a.b',
    '(?<verb>GET|POST) /.*',
    '(?P<verb>GET) /',
    '\\Qa.b',
    '\\Qa.b\\E.*',
    '\\Q(?<x>\\E',
    '[(?<]+',
    '[]a]+',
    '[^]a]+',
    '[[:alpha:]]+',
    '\\(?<x>',
    'x|(?<n>a)\\.b',
    '(?i)A\\nB',
    '\\pL+',
    '.',
    '',
  ];
  const values = ['a\nb', 'axb', 'a.b', 'GET /x\ny', 'POST /', 'line\nerror\nend', '(?<x>', '<x>', '(<', 'a', ']a', 'é', 'A\nB', ''];
  await withDuckDB(async (conn) => {
    for (const p of patterns) {
      const rx = compileRegex(p);
      const portable = portablePattern(p);
      for (const v of values) {
        const r = await conn.runAndReadAll(`SELECT regexp_full_match(${sqlString(v)}, ${sqlString(portable)})`);
        assert.equal(r.getRows()[0]![0], rx.test(v), `${p} → ${portable} on ${JSON.stringify(v)}`);
      }
    }
  });
});
