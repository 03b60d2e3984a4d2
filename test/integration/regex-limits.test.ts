// The regex and query-shape attacks of the hardening review, through the real server: a catastrophic
// regex must neither hang the query nor starve ingestion, and every refused query is a 400, on recent
// data and on blocks alike.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { startRubato, type RubatoProcess } from '../support/rubato-process.js';
import { exportSpans, makeExporter, recordTraces } from '../support/otel-traces.js';

const EVIL_NAME = 'a'.repeat(32) + '!';
const MULTILINE_NAME = 'line one\nerror here\nline three';
let rubato: RubatoProcess;
let evilTraceId = '';

async function recordEvilSpan(): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'regex-victim' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const root = provider.getTracer('rubato-it').startSpan(EVIL_NAME, { attributes: { n: '32' } }, ROOT_CONTEXT);
  evilTraceId = root.spanContext().traceId;
  // A multi-line value: Tempo's `.` matches newlines.
  provider
    .getTracer('rubato-it')
    .startSpan(MULTILINE_NAME, { attributes: { n: 'nl' } }, trace.setSpan(ROOT_CONTEXT, root))
    .end();
  root.end();
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  return [...spans];
}

before(async () => {
  rubato = await startRubato();
  await rubato.waitReady();
  const exporter = makeExporter('grpc', rubato);
  assert.ok(await exportSpans(exporter, await recordEvilSpan()));
  await exporter.shutdown();
});
after(async () => {
  await rubato.stop();
  rubato.cleanup();
});

async function search(q: string): Promise<{ status: number; text: string }> {
  // encodeURIComponent leaves ( ) ! as they are, which keeps 5,000 parentheses under the 16 KiB header limit.
  const r = await fetch(`${rubato.url}/api/search?q=${encodeURIComponent(q)}`);
  return { status: r.status, text: await r.text() };
}

async function found(q: string): Promise<string[]> {
  const r = await search(q);
  assert.equal(r.status, 200, `${q.slice(0, 80)}: ${r.text}`);
  return (JSON.parse(r.text) as { traces: { traceID: string }[] }).traces.map((t) => t.traceID);
}

async function refused(q: string, message: RegExp): Promise<void> {
  const r = await search(q);
  assert.equal(r.status, 400, `${q.slice(0, 80)}: ${r.text}`);
  assert.match(r.text, message);
}

/** The same questions on recent data and, after /flush, on blocks. */
async function assertRegexAnswers(): Promise<void> {
  assert.deepEqual(await found('{ span.n = "32" && name =~ "(a+)+b|.*" }'), [evilTraceId]);
  assert.deepEqual(await found('{ name =~ "(a+)+$" }'), []);
  assert.deepEqual(await found('{ name =~ "(a+)+!" }'), [evilTraceId]);
  assert.deepEqual(await found('{ name =~ "a+" }'), []); // anchored: the "!" is not matched
  assert.deepEqual(await found('{ name =~ "(?i)A{32}!" }'), [evilTraceId]);
  await refused('{ name =~ "(?=a)a" }', /invalid TraceQL query: invalid regular expression "\(\?=a\)a": .*\(\?=/);
  await refused('{ name =~ "(a)\\\\1" }', /invalid regular expression/);
  await refused('('.repeat(5000) + '{ }' + ')'.repeat(5000), /invalid TraceQL query: .*nests too deeply/);
  await refused(`{ ${'!'.repeat(14_000)}true }`, /invalid TraceQL query: .*nests too deeply/);
  // A long chain stays within the limits: evaluated (and pre-filtered on blocks), not refused.
  const chain = Array.from({ length: 300 }, (_, i) => `name = "x${i}"`).join(' || ');
  assert.deepEqual(await found(`{ ${chain} || name =~ "a+!" }`), [evilTraceId]);
}

/** Where Tempo's regex semantics and C++ RE2's defaults differ: `.` and newlines, `(?<name>` groups. */
async function assertPortableRegexAnswers(): Promise<void> {
  assert.deepEqual(await found('{ span.n = "nl" && name =~ ".*error.*" }'), [evilTraceId]);
  assert.deepEqual(await found('{ name =~ "(?<first>line) one.*three" }'), [evilTraceId]);
  assert.deepEqual(await found('{ name =~ "(?-s)line one.*three" }'), []);
}

test('a catastrophic regex on recent data answers, and pushes meanwhile are accepted', async () => {
  // With a backtracking engine this search held the event loop for ~30 s and the push timed out.
  const searching = found('{ span.n = "32" && name =~ "(a+)+b|.*" }');
  const exporter = makeExporter('grpc', rubato);
  const pushed = exportSpans(exporter, await recordTraces(1, 'during-regex'));
  assert.deepEqual(await searching, [evilTraceId]);
  assert.ok(await pushed, 'a push during the regex search is acknowledged');
  await exporter.shutdown();
  await assertRegexAnswers();
  await assertPortableRegexAnswers();
});

test('the same answers from blocks after /flush', async () => {
  const r = await fetch(`${rubato.url}/flush`, { method: 'POST' });
  assert.equal(r.status, 204);
  await assertRegexAnswers();
});

test('multi-line values and (?<name>) groups on blocks', async () => {
  const r = await fetch(`${rubato.url}/flush`, { method: 'POST' });
  assert.equal(r.status, 204);
  await assertPortableRegexAnswers();
});

test('malformed legacy tags are 400, not 500', async () => {
  for (const tags of ['a="unterminated', 'a="\\x"', 'a=b"c', '"', 'a="\u0001"']) {
    const res = await fetch(`${rubato.url}/api/search?${new URLSearchParams({ tags })}`);
    assert.equal(res.status, 400, tags);
    assert.match(await res.text(), /invalid tags/);
  }
  assert.equal((await fetch(`${rubato.url}/api/search?${new URLSearchParams({ tags: `name="${EVIL_NAME}"` })}`)).status, 200);
});
