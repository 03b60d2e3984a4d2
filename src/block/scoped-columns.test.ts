// Event, link and instrumentation-scope attribute columns (format 2), the format-1 blocks written
// before them, and the shared old/new semantic-convention columns: searches answer as the evaluator
// does, and the new columns prune.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalBackend } from '../backend/local.js';
import type { Backend } from '../backend/backend.js';
import { decodeTrace } from '../otlp/trace-decode.js';
import { buildEvalTrace, evaluate, extractConditions, parse } from '../traceql/index.js';
import { BLOCK_FILES, blockPath, parseBlockMeta, type BlockMeta } from './meta.js';
import { filterSql } from './search.js';
import { openBlock, type StoredBlock } from './encoding.js';
import type { TagQuery } from './block.js';
import type { TraceRecord } from '../model/trace-record.js';
import { writeBlock } from './writer.js';
import { scopedAttrTraces, semconvAttrs } from '../../test/support/scoped-attr-traces.js';

const FIXTURE = join(process.cwd(), 'test', 'fixtures', 'blocks', 'rubato-parquet1');
const FIXTURE_TENANT = 'fixture';
const FIXTURE_BLOCK = 'e6ade4ea-f00e-4c34-b6f4-5177ed6db76a';

const conds = (q: string) => extractConditions(parse(q));
const ALL: TagQuery = { filter: { conditions: conds('{ }') }, run: null };

function evaluatorAnswer(traces: readonly TraceRecord[], q: string): string[] {
  const root = parse(q);
  return traces.filter((t) => evaluate(root, buildEvalTrace(decodeTrace(t.trace))).length > 0).map((t) => t.traceId);
}

async function blockAnswer(block: StoredBlock, q: string): Promise<{ ids: string[]; candidateRows: number; inspectedTraces: number }> {
  const root = parse(q);
  const stats = { inspectedTraces: 0, inspectedBytes: 0, candidateRows: 0 };
  const ids: string[] = [];
  for await (const batch of block.search({ conditions: extractConditions(root) }, { batchSize: () => 8, stats })) {
    for (const t of batch) if (evaluate(root, buildEvalTrace(decodeTrace(t.trace))).length > 0) ids.push(t.traceId);
  }
  return { ids, candidateRows: stats.candidateRows, inspectedTraces: stats.inspectedTraces };
}

const SCOPED_QUERIES = [
  '{ event.exception.type = "Type1" }',
  '{ event.exception.escaped = true && event.exception.type =~ "Type[02]" }',
  '{ event.log.level = "warn" }',
  '{ event.exception.type != "Type0" }',
  '{ event.nope = "x" }',
  '{ event:name = "log" && event.log.level = "info" }',
  '{ link.reason = "retry" }',
  '{ link.weight >= 3 }',
  '{ link:traceID = "91cdcdcdcdcdcdcdcdcdcdcdcdcdcdcd" }',
  '{ link:spanID = "0909090909090905" }',
  '{ instrumentation.scope.tier = "gold" && instrumentation:name = "lib-a" }',
  '{ instrumentation.scope.shard > 10 }',
  '{ instrumentation:version = "1.2" && event.exception.type = "Type3" }',
  '{ event.exception.type = "Type2" } >> { link.reason = "fanout" }',
];

// Every combination of the old and new names the traces carry (see semconvAttrs): a span matches a
// query only under the name the query spells, as in Tempo.
const SEMCONV_QUERIES = [
  '{ span.http.method = "GET" }',
  '{ span.http.request.method = "GET" }',
  '{ span.http.method != "GET" }',
  '{ span.http.request.method != "POST" }',
  '{ span.http.method = "PUT" && span.http.request.method = "GET" }',
  '{ span.http.status_code = 500 }',
  '{ span.http.response.status_code = 500 }',
  '{ span.http.status_code >= 400 }',
  '{ span.http.response.status_code > 201 }',
  '{ span.http.response.status_code != 201 }',
  '{ span.http.response.status_code < 300 }',
  // Only the spans holding 201.5 (a double under the int column) match these.
  '{ span.http.response.status_code > 201 && span.http.response.status_code < 202 }',
  '{ span.http.response.status_code != 201 && span.http.response.status_code < 202 }',
  '{ span.http.response.status_code = 201.5 }',
  '{ span.http.response.status_code >= 201.5 && span.http.response.status_code <= 201.5 }',
  '{ span.http.status_code = "300" }',
  '{ .http.method = "POST" }',
  '{ span.http.request.method != nil }',
];

/** What Tempo answers for the semantic-convention queries: the attribute as written, by name. */
function semconvOracle(q: string, traces: readonly TraceRecord[]): string[] {
  assert.ok(q.startsWith('{ ') && q.endsWith(' }'), q);
  const parts = q
    .slice(2, -2)
    .split(' && ')
    .map((c) => {
      const m = /^(?:\.|span\.)([a-z._]+) (=|!=|>=|<=|>|<) ("[A-Z0-9]+"|[0-9.]+|nil)$/.exec(c);
      assert.ok(m !== null, c);
      return { key: m[1]!, op: m[2]!, lit: m[3]! };
    });
  const holds = (v: string | number | bigint | boolean | undefined, o: string, l: string): boolean => {
    if (l === 'nil') return o === '!=' && v !== undefined;
    if (v === undefined) return false;
    const str = l.startsWith('"');
    if (str !== (typeof v === 'string')) return false;
    const a = typeof v === 'bigint' ? Number(v) : v;
    const b = str ? l.slice(1, -1) : Number(l);
    switch (o) {
      case '=':
        return a === b;
      case '!=':
        return a !== b;
      case '>=':
        return a >= b;
      case '>':
        return a > b;
      case '<=':
        return a <= b;
      default:
        return a < b;
    }
  };
  return traces
    .filter((_, i) =>
      [0, 1, 2, 3].some((j) => {
        const attrs = new Map(semconvAttrs(i, j));
        return parts.every((p) => holds(attrs.get(p.key), p.op, p.lit));
      }),
    )
    .map((t) => t.traceId);
}

describe('scoped attribute columns and shared semantic-convention columns', () => {
  let root: string;
  let backend: Backend;
  let traces: TraceRecord[];
  let fresh: StoredBlock;
  let old: StoredBlock;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rubato-scoped-cols-'));
    backend = createLocalBackend(root);
    traces = scopedAttrTraces();
    const meta = await writeBlock(backend, 'new', traces, { rowGroupRows: 32 });
    assert.equal(meta.format, 'rubato-parquet2');
    fresh = await openBlock(backend, meta);
    await cp(FIXTURE, root, { recursive: true });
    const oldMeta = parseBlockMeta(await readFile(join(root, blockPath(FIXTURE_TENANT, FIXTURE_BLOCK, BLOCK_FILES.meta)))) as BlockMeta;
    assert.equal(oldMeta.format, 'rubato-parquet1');
    old = await openBlock(backend, oldMeta);
  });
  after(async () => {
    await fresh.close();
    await old.close();
    await rm(root, { recursive: true, force: true });
  });

  test('the fixture holds the same traces', async () => {
    const got: TraceRecord[] = [];
    for await (const t of old.traces()) got.push(t);
    assert.deepEqual(
      got.map((t) => t.traceId),
      traces.map((t) => t.traceId),
    );
  });

  test('event, link and instrumentation conditions become column predicates in format 2 only', () => {
    const f = { conditions: conds('{ event.exception.type = "x" && link.a = 1 && instrumentation.b = "y" && link:traceID = "ab" }') };
    const sql = filterSql(f);
    assert.match(sql, /event_attrs/);
    assert.match(sql, /link_attrs/);
    assert.match(sql, /scope_attrs/);
    assert.match(sql, /list_contains\(link_trace_ids, 'ab'\)/);
    assert.equal(filterSql({ ...f, formatVersion: 1 }), 'TRUE');
    const keys = { span: new Set<string>(), resource: new Set<string>(), event: new Set(['exception.type']) };
    assert.equal(filterSql({ conditions: conds('{ event.nope = "x" }'), keys }), 'FALSE');
  });

  for (const q of SCOPED_QUERIES) {
    test(`${q}: new and old blocks answer as the evaluator`, async () => {
      const expected = evaluatorAnswer(traces, q);
      const a = await blockAnswer(fresh, q);
      assert.deepEqual(a.ids, expected);
      assert.deepEqual((await blockAnswer(old, q)).ids, expected);
      // The new columns narrow: never more candidate traces than the answer needs to be decided.
      if (!q.includes('!=') && !q.includes('>>')) assert.equal(a.inspectedTraces, expected.length, 'pre-filter is exact here');
    });
  }

  for (const q of SEMCONV_QUERIES) {
    test(`${q}: only spans with that name match, in new and old blocks and recent data`, async () => {
      const expected = semconvOracle(q, traces);
      // Recent data (head blocks) hands every trace to the evaluator.
      assert.deepEqual(evaluatorAnswer(traces, q), expected, 'evaluator');
      assert.deepEqual((await blockAnswer(fresh, q)).ids, expected, 'format 2 block');
      assert.deepEqual((await blockAnswer(old, q)).ids, expected, 'format 1 block');
    });
  }

  test('tag names and values of the new scopes come from the columns', async () => {
    const names = await fresh.tagNames(['event', 'link', 'instrumentation', 'span'], ALL);
    assert.deepEqual([...(names.get('event') ?? [])].sort(), ['exception.escaped', 'exception.type', 'log.level']);
    assert.deepEqual([...(names.get('link') ?? [])].sort(), ['link.reason', 'link.weight']);
    assert.deepEqual([...(names.get('instrumentation') ?? [])].sort(), ['scope.shard', 'scope.tier']);
    const types = await fresh.tagValues({ kind: 'attribute', scope: 'event', key: 'exception.type' }, ALL);
    assert.deepEqual(types.map((v) => v.value).sort(), ['Type0', 'Type1', 'Type2', 'Type3']);
    const weights = await fresh.tagValues({ kind: 'attribute', scope: 'link', key: 'link.weight' }, ALL);
    assert.ok(weights.length > 0 && weights.every((v) => v.type === 'int'));
    const tiers = await fresh.tagValues(
      { kind: 'attribute', scope: 'instrumentation', key: 'scope.tier' },
      {
        filter: { conditions: conds('{ instrumentation:name = "lib-b" }') },
        run: null,
      },
    );
    assert.deepEqual(tiers, [{ type: 'string', value: 'silver' }]);
    const filtered = await fresh.tagNames(['event'], { filter: { conditions: conds('{ event.log.level = "warn" }') }, run: null });
    assert.deepEqual([...(filtered.get('event') ?? [])].sort(), ['exception.escaped', 'exception.type', 'log.level']);
    // A format 1 block has no such columns: it lists nothing for them and does not fail.
    const oldNames = await old.tagNames(['event', 'span'], ALL);
    assert.equal(oldNames.get('event'), undefined);
    assert.ok(oldNames.get('span')?.has('http.method'));
    assert.deepEqual(await old.tagValues({ kind: 'attribute', scope: 'event', key: 'exception.type' }, ALL), []);
  });
});
