import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalBackend } from '../backend/local.js';
import { decodeTrace } from '../otlp/trace-decode.js';
import { buildEvalTrace, evaluate, extractConditions, parse, type QueryConditions } from '../traceql/index.js';
import { BLOCK_FILES, blockPath } from './meta.js';
import { candidateSql, conditionSql, filterSql, searchBlock } from './search.js';
import { ParquetBlock } from './parquet-block.js';
import type { TagQuery } from './block.js';
import { syntheticTraces } from '../../test/support/synthetic-traces.js';
import type { TraceRecord } from '../model/trace-record.js';
import { writeBlock } from './writer.js';

const conds = (q: string): QueryConditions => extractConditions(parse(q));

describe('TraceQL conditions as SQL', () => {
  test('dedicated columns are used where they exist', () => {
    assert.equal(filterSql({ conditions: conds('{ resource.service.name = "api" }') }), `service_name = 'api'`);
    assert.equal(filterSql({ conditions: conds('{ span.http.response.status_code >= 500 }') }), 'http_status_code >= 500');
    assert.equal(filterSql({ conditions: conds('{ span.http.request.method = "GET" }') }), `http_method = 'GET'`);
    assert.equal(filterSql({ conditions: conds('{ span.http.route =~ "/api/.*" }') }), `regexp_full_match(http_route, '(?s:/api/.*)')`);
  });

  test('old and new semantic-convention names share a column only where that cannot miss a span', () => {
    // The column holds http.request.method when a span has it, so http.method may use it only in a
    // block where no span has http.request.method.
    const oldOnly = { span: new Set(['http.method']), resource: new Set<string>() };
    const both = { span: new Set(['http.method', 'http.request.method']), resource: new Set<string>() };
    assert.equal(filterSql({ conditions: conds('{ span.http.method = "GET" }'), keys: oldOnly }), `http_method = 'GET'`);
    assert.match(filterSql({ conditions: conds('{ span.http.method = "GET" }'), keys: both }), /^len\(list_filter\(span_attrs, x -> x.key = 'http.method'/);
    assert.match(filterSql({ conditions: conds('{ span.http.method = "GET" }') }), /^len\(list_filter\(span_attrs/);
    assert.equal(filterSql({ conditions: conds('{ span.http.request.method = "GET" }'), keys: both }), `http_method = 'GET'`);
  });

  test('an int dedicated column narrows integer literals without missing a double stored as its floor', () => {
    const sql = (q: string, formatVersion?: number): string => filterSql({ conditions: conds(q), ...(formatVersion === undefined ? {} : { formatVersion }) });
    assert.equal(sql('{ span.http.response.status_code > 201 }'), 'http_status_code >= 201');
    assert.equal(sql('{ span.http.response.status_code < 300 }'), 'http_status_code < 300');
    // Format 1 truncated toward zero (-1.5 as -1).
    assert.equal(sql('{ span.http.response.status_code < 300 }', 1), 'http_status_code <= 300');
    assert.match(sql('{ span.http.response.status_code != 201 }'), /^len\(list_filter\(span_attrs/);
    assert.match(sql('{ span.http.response.status_code = 201.5 }'), /^len\(list_filter\(span_attrs/);
    assert.match(sql('{ span.http.response.status_code > 3000000000 }'), /^len\(list_filter\(span_attrs/);
  });

  test('intrinsics map to their columns', () => {
    assert.equal(filterSql({ conditions: conds('{ duration > 900ms && duration < 1s }') }), '(duration_nano > 900000000) AND (duration_nano < 1000000000)');
    assert.equal(filterSql({ conditions: conds('{ name =~ "GET.*" }') }), `regexp_full_match(name, '(?s:GET.*)')`);
    assert.equal(filterSql({ conditions: conds('{ status = error }') }), 'status_code = 2');
    assert.equal(filterSql({ conditions: conds('{ kind != server }') }), 'kind != 2');
    assert.equal(filterSql({ conditions: conds('{ rootServiceName = "a" }') }), `coalesce(trace_root_service = 'a', TRUE)`);
    assert.equal(filterSql({ conditions: conds('{ traceDuration > 1s }') }), 'trace_duration_nano > 1000000000');
    // A negative literal cannot be cast to UBIGINT; it is decided up front.
    assert.equal(filterSql({ conditions: conds('{ duration > -1 }') }), 'TRUE');
  });

  test('other attributes test the typed attribute lists; arrays stay candidates', () => {
    const sql = filterSql({ conditions: conds('{ span.user.id = "u-1" }') });
    assert.equal(sql, `len(list_filter(span_attrs, x -> x.key = 'user.id' AND (x.type IN ('array', 'kvlist') OR x.str = 'u-1'))) > 0`);
    const num = conditionSql({ scope: 'resource', name: 'host.cores', op: '>', value: { type: 'int', value: 2 } });
    assert.match(num ?? '', /resource_attrs.*x\.int > 2 OR x\.dbl > 2/);
    assert.equal(conditionSql({ scope: 'span', name: 'a', op: 'exists' }), `len(list_filter(span_attrs, x -> x.key = 'a')) > 0`);
  });

  test('AND when every condition must hold, OR otherwise; nothing when a branch cannot be expressed', () => {
    assert.equal(filterSql({ conditions: conds('{ status = error && resource.service.name = "a" }') }), `(status_code = 2) AND (service_name = 'a')`);
    assert.equal(filterSql({ conditions: conds('{ status = error } && { name = "x" }') }), `((status_code = 2) OR (name = 'x'))`);
    assert.equal(filterSql({ conditions: conds('{ status = error } || { event:timeSinceStart > 1ms }') }), 'TRUE');
    assert.equal(filterSql({ conditions: conds('{ }') }), 'TRUE');
  });

  test('known block keys decide unscoped and absent attributes without reading', () => {
    const keys = { span: new Set(['http.route']), resource: new Set(['service.name']) };
    assert.equal(filterSql({ conditions: conds('{ .service.name = "a" }'), keys }), `service_name = 'a'`);
    assert.equal(filterSql({ conditions: conds('{ span.nope = "a" }'), keys }), 'FALSE');
    assert.equal(candidateSql('/x.parquet', { conditions: conds('{ span.nope = "a" }'), keys }), null);
  });

  test('time range and trace duration are trace-level columns', () => {
    assert.equal(
      filterSql({ conditions: conds('{ }'), startNs: 10n, endNs: 20n, minTraceDurationNs: 5n }),
      '(trace_end_unix_nano >= 10) AND (trace_start_unix_nano <= 20) AND (trace_duration_nano >= 5)',
    );
    assert.equal(candidateSql("/a'b.parquet", { conditions: conds('{ }') }), `SELECT trace_id FROM read_parquet('/a''b.parquet')`);
  });
});

// The same answers from a block read in place and from one read as object storage is (a sparse cache
// file filled with only the ranges each statement needs).
for (const mode of ['local file', 'sparse cache file'] as const)
  describe(`searching a block agrees with evaluating every trace (${mode})`, () => {
    let root: string;
    let file: string;
    let block: ParquetBlock;
    let traces: TraceRecord[];

    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'rubato-block-search-'));
      const backend = createLocalBackend(root);
      traces = syntheticTraces({ traces: 300, spansPerTrace: 12, seed: 42 });
      // Small row groups so statistics pruning and multi-row-group traces are exercised.
      const meta = await writeBlock(backend, 't', traces, { rowGroupRows: 1024 });
      file = backend.localPath(blockPath('t', meta.blockID, BLOCK_FILES.data))!;
      block = await ParquetBlock.open(mode === 'local file' ? backend : { ...backend, localPath: () => null }, meta);
    });
    after(async () => {
      await block.close();
      await rm(root, { recursive: true, force: true });
    });

    const queries = [
      '{ resource.service.name = "payment" }',
      '{ .service.name = "cart" && span.http.status_code = 500 }',
      '{ span.http.method = "POST" && span.http.route = "/checkout" }',
      '{ span.user.id =~ "u-1.*" && status = error }',
      '{ span.retry.ratio > 0.95 }',
      '{ span.cache.hit = true && kind = client }',
      '{ span.tags = 7 }',
      '{ span.db.name = "shop" } >> { status = error }',
      '{ name = "GET /" } > { span.http.status_code = 500 }',
      '{ span.http.status_code = 500 } | count() > 1',
      '{ duration > 40ms && duration < 45ms }',
      '{ rootServiceName = "frontend" && resource.k8s.pod.name =~ "cart.*" }',
      '{ event:name = "exception" && span.http.method = "GET" }',
      '{ traceDuration > 100ms } | count() > 11',
      '{ statusMessage = "boom" }',
      '{ span.http.route != "/health" && .nope = nil }',
      '{ span.retry.ratio > 0.99 } || { resource.service.name = "shipping" && status = error }',
    ];

    for (const q of queries) {
      test(q, async () => {
        const root = parse(q);
        const expected = traces.filter((t) => evaluate(root, buildEvalTrace(decodeTrace(t.trace))).length > 0).map((t) => t.traceId);
        const c = extractConditions(root);
        const threshold = q.includes('count() > 1') ? 2 : 1;
        const got: string[] = [];
        const stats = { inspectedTraces: 0, inspectedBytes: 0, candidateRows: 0 };
        for await (const batch of block.search({ conditions: c, minMatchingSpans: threshold }, { batchSize: () => 16, stats })) {
          for (const t of batch) if (evaluate(root, buildEvalTrace(decodeTrace(t.trace))).length > 0) got.push(t.traceId);
        }
        assert.deepEqual(got, expected);
        // Selective queries must not fetch every trace.
        if (expected.length * 4 < traces.length && !q.includes('nil') && !q.includes('tags')) {
          assert.ok(stats.inspectedTraces < traces.length, `pre-filter narrowed (${stats.inspectedTraces})`);
        }
      });
    }

    test('stopping early ends the scan', async () => {
      let batches = 0;
      for await (const batch of searchBlock(file, { conditions: conds('{ }') }, { batchSize: () => 5 })) {
        assert.equal(batch.length, 5);
        if (++batches === 2) break;
      }
      assert.equal(batches, 2);
    });

    test('tag keys and values of a block', async () => {
      const all: TagQuery = { filter: { conditions: conds('{ }') }, run: null };
      const keys = await block.tagNames(['span', 'resource'], all);
      assert.ok(keys.get('span')?.has('user.id') && keys.get('span')?.has('tags'));
      assert.ok(keys.get('resource')?.has('k8s.pod.name'));
      const codes = await block.tagValues({ kind: 'attribute', scope: 'span', key: 'http.status_code' }, all);
      assert.deepEqual(codes.map((v) => `${v.type}:${v.value}`).sort(), ['int:200', 'int:500']);
      const services = await block.tagValues({ kind: 'attribute', scope: 'resource', key: 'service.name' }, all);
      assert.equal(services.length, 5);
      const q: TagQuery = { filter: { conditions: conds('{ status = error && span.http.status_code = 500 }') }, run: null };
      assert.deepEqual(await block.tagValues({ kind: 'attribute', scope: 'span', key: 'http.status_code' }, q), [{ type: 'int', value: '500' }]);
      const names = await block.tagValues({ kind: 'intrinsic', name: 'name' }, all);
      assert.ok(names.length > 0 && names.every((v) => v.type === 'string'));
    });
  });
