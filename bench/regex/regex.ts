/**
 * TraceQL regex engines side by side: the JavaScript RegExp translation rubato used before (a
 * backtracking engine) and re2js (linear-time RE2) behind src/traceql/regex.ts. Prints compile and
 * match rates on typical patterns, and the time of the catastrophic pattern from the hardening review.
 * Run: npm run bench:regex
 */
import { RE2JS } from 're2js';
import { compileRegex } from '../../src/traceql/regex.js';
import { buildEvalTrace, evaluate, parse } from '../../src/traceql/index.js';
import { sampleTrace } from '../../test/support/traceql-eval.js';

/** The translation src/traceql/regex.ts made before re2js: Go spellings rewritten into a JS RegExp. */
function oldCompile(pattern: string): RegExp {
  let flags = '';
  let body = pattern;
  const m = /^\(\?([imsU]+)\)/.exec(body);
  if (m !== null) {
    for (const f of m[1]!) if ((f === 'i' || f === 'm' || f === 's') && !flags.includes(f)) flags += f;
    body = body.slice(m[0].length);
  }
  body = body
    .replace(/\(\?P</g, '(?<')
    .replace(/\\A/g, '^')
    .replace(/\\z/g, '$');
  return new RegExp(`^(?:${body})$`, flags);
}

const PATTERNS = [
  'GET /api/.*',
  '.*error.*',
  '(?i)foo|bar',
  'frontend|checkout|payments',
  '[a-z]+-[0-9]{2,4}',
  'checkout',
  '(?P<verb>GET|POST) /api/v[0-9]+/.*',
];
const VALUES = [
  'GET /api/v1/traces/4bf92f3577b34da6a3ce929d0e0e4736',
  'POST /api/v2/push',
  'checkout',
  'payments-api',
  'FOO',
  'cache-042',
  'SELECT * FROM orders WHERE id = $1',
  'connection error: upstream timed out after 30s (retry 3 of 3)',
  `${'x'.repeat(400)} error ${'y'.repeat(400)}`,
  'frontend',
];

function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Calls fn over and over for about ms milliseconds after a warm-up; returns calls per second. */
function rate(fn: () => number, ms = 600): number {
  const warm = process.hrtime.bigint();
  while (elapsedMs(warm) < 150) fn();
  let calls = 0;
  const start = process.hrtime.bigint();
  while (elapsedMs(start) < ms) calls += fn();
  return calls / (elapsedMs(start) / 1000);
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(13);

console.log('compile (patterns/s, no cache)');
/** Runs `fn` on every pattern; returns how many, for rate(). */
const eachPattern = (fn: (p: string) => unknown): number => {
  for (const p of PATTERNS) fn(p);
  return PATTERNS.length;
};
console.log(`  JS RegExp (old translation) ${fmt(rate(() => eachPattern(oldCompile)))}`);
console.log(`  re2js                       ${fmt(rate(() => eachPattern((p) => RE2JS.compile(p, RE2JS.DOTALL))))}`);
console.log(`  compileRegex (cache hit)    ${fmt(rate(() => eachPattern(compileRegex)))}`);

console.log(`\nmatches/s over ${VALUES.length} typical values (whole-value match)`);
console.log(`  ${'pattern'.padEnd(36)} ${'JS RegExp'.padStart(13)} ${'re2js'.padStart(13)}  ratio`);
let sink = 0;
for (const p of PATTERNS) {
  const old = oldCompile(p);
  const re2 = compileRegex(p);
  for (const v of VALUES) {
    // Same answers, or the comparison means nothing. (Only `.` and newlines differ, absent here.)
    if (old.test(v) !== re2.test(v)) throw new Error(`engines disagree on ${p} / ${v}`);
  }
  const a = rate(() => {
    for (const v of VALUES) if (old.test(v)) sink++;
    return VALUES.length;
  });
  const b = rate(() => {
    for (const v of VALUES) if (re2.test(v)) sink++;
    return VALUES.length;
  });
  console.log(`  ${p.padEnd(36)} ${fmt(a)} ${fmt(b)}  ${(a / b).toFixed(1)}x`);
}
const literal = rate(() => {
  for (const v of VALUES) if (v === 'checkout') sink++;
  return VALUES.length;
});
console.log(`  ${'checkout as plain === (fast path?)'.padEnd(36)} ${fmt(literal)}`);

// What a regex costs inside a whole filter evaluation (4-span sample trace), next to an equality.
console.log('\nspans/s through evaluate() on a 4-span trace');
const trace = buildEvalTrace(sampleTrace());
for (const q of ['{ name = "GET /" }', '{ name =~ "GET /" }', '{ name =~ "GET.*" }', '{ name =~ ".*query.*" }', '{ .http.method =~ "(?i)get|post" }']) {
  const root = parse(q);
  console.log(
    `  ${q.padEnd(36)} ${fmt(
      rate(() => {
        evaluate(root, trace);
        return trace.spans.length;
      }),
    )}`,
  );
}

console.log('\ncatastrophic pattern on "a"×n + "!" (one match each)');
for (const p of ['(a+)+b|.*', '(a+)+$']) {
  const re2 = compileRegex(p);
  for (const n of [32, 1_000, 100_000]) {
    const v = 'a'.repeat(n) + '!';
    const start = process.hrtime.bigint();
    const m = re2.test(v);
    console.log(`  re2js     ${p.padEnd(12)} n=${String(n).padEnd(7)} ${elapsedMs(start).toFixed(2).padStart(10)} ms  match=${m}`);
  }
  // Backtracking doubles its time with every extra "a": stop at the first n past ~1 s (n=32 took 31 s).
  const old = oldCompile(p);
  for (let n = 16; n <= 32; n++) {
    const v = 'a'.repeat(n) + '!';
    const start = process.hrtime.bigint();
    const m = old.test(v);
    const ms = elapsedMs(start);
    if (n % 2 === 0 || ms > 1000) console.log(`  JS RegExp ${p.padEnd(12)} n=${String(n).padEnd(7)} ${ms.toFixed(2).padStart(10)} ms  match=${m}`);
    if (ms > 1000) {
      console.log(`  JS RegExp stopped at n=${n} (capped at ~1 s; each further "a" doubles the time)`);
      break;
    }
  }
}
if (sink < 0) console.log(sink);
