import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WireReader } from '../otlp/wire.js';
import type { SearchResult } from '../querier/search-result.js';
import { encodeSearchResponse, goDuration, searchResponseJson } from './search-encode.js';
import { BadRequest, legacyTagsToTraceQL, parseSearchParams, parseSearchQuery } from './search-params.js';

const result: SearchResult = {
  traces: [
    {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      rootServiceName: 'shop',
      rootTraceName: 'POST /checkout',
      startUnixNano: 1_700_000_000_123_456_789n,
      durationMs: 557,
      serviceStats: new Map([['shop', { spanCount: 4, errorCount: 0 }]]),
      spanSets: [
        {
          matched: 2,
          attributes: [{ key: 'count()', value: { type: 'int', value: 2 } }],
          spans: [
            {
              spanId: 'b7ad6b7169203331',
              name: 'charge',
              startUnixNano: 1_700_000_000_200_000_000n,
              durationNano: 446_979_497n,
              attributes: [
                { key: 'status', value: { type: 'status', value: 'error' } },
                { key: 'http.status_code', value: { type: 'int', value: 500 } },
                { key: 'avg(duration)', value: { type: 'duration', value: 1_500_000_000 } },
              ],
            },
          ],
        },
      ],
    },
  ],
  metrics: { inspectedTraces: 7, inspectedBytes: 1234, inspectedSpans: 0, totalBlocks: 1, totalBlockBytes: 0, completedJobs: 2, totalJobs: 2 },
};

test('search JSON is shaped like Tempo: 64-bit numbers as strings, zero values left out', () => {
  const json = searchResponseJson(result);
  assert.deepEqual(json, {
    traces: [
      {
        traceID: '0af7651916cd43dd8448eb211c80319c',
        rootServiceName: 'shop',
        rootTraceName: 'POST /checkout',
        startTimeUnixNano: '1700000000123456789',
        durationMs: 557,
        spanSet: (json['traces'] as { spanSets: unknown[] }[])[0]!.spanSets[0]!,
        spanSets: [
          {
            spans: [
              {
                spanID: 'b7ad6b7169203331',
                name: 'charge',
                startTimeUnixNano: '1700000000200000000',
                durationNanos: '446979497',
                attributes: [
                  { key: 'status', value: { stringValue: 'error' } },
                  { key: 'http.status_code', value: { intValue: '500' } },
                  { key: 'avg(duration)', value: { stringValue: '1.5s' } },
                ],
              },
            ],
            matched: 2,
            attributes: [{ key: 'count()', value: { intValue: '2' } }],
          },
        ],
        serviceStats: { shop: { spanCount: 4 } },
      },
    ],
    metrics: { inspectedTraces: 7, inspectedBytes: '1234', totalBlocks: 1, completedJobs: 2, totalJobs: 2 },
  });
});

test('search protobuf uses tempopb.SearchResponse field numbers', () => {
  const r = new WireReader(encodeSearchResponse(result));
  const fields: number[] = [];
  let traceId = '';
  while (!r.eof()) {
    const tag = r.tag();
    fields.push(tag >>> 3);
    if (tag >>> 3 === 1) {
      const t = new WireReader(r.bytes());
      assert.equal(t.tag() >>> 3, 1);
      traceId = t.string();
    } else r.skip(tag & 7);
  }
  assert.deepEqual(fields, [1, 2]);
  assert.equal(traceId, '0af7651916cd43dd8448eb211c80319c');
});

test('Go duration strings', () => {
  assert.equal(goDuration(0), '0s');
  assert.equal(goDuration(1_500), '1.5µs');
  assert.equal(goDuration(250_000_000), '250ms');
  assert.equal(goDuration(90_000_000_000), '1m30s');
  assert.equal(goDuration(3_600_000_000_000), '1h0m0s');
});

test('legacy tags become TraceQL', () => {
  assert.equal(legacyTagsToTraceQL('service.name=shop'), '{ .service.name = "shop" }');
  assert.equal(legacyTagsToTraceQL('http.status_code=500 name="GET /"'), '{ .http.status_code = "500" || .http.status_code = 500 } && { name = "GET /" }');
  assert.equal(legacyTagsToTraceQL('error=true'), '{ status = error }');
  assert.equal(legacyTagsToTraceQL(''), '{ }');
  for (const tags of ['service.name=a b=c', 'x="a \\" b"', 'k=true', 'f=1.5']) parseSearchQuery(legacyTagsToTraceQL(tags));
});

test('search parameters: defaults, caps and errors', () => {
  const limits = { defaultLimit: 20, maxLimit: 50, defaultSpss: 3, maxSpss: 100, maxResponseBytes: 1 << 20 };
  const r = parseSearchParams({ q: '{ status = error }', minDuration: '100ms', start: '10', end: '20' }, limits);
  assert.equal(r.limit, 20);
  assert.equal(r.spss, 3);
  assert.equal(r.minDurationNs, 100_000_000n);
  assert.equal(r.startMs, 10_000);
  assert.equal(parseSearchParams({ limit: '500' }, limits).limit, 50);
  assert.throws(
    () => parseSearchParams({ q: '{ .a = }' }, limits),
    (e: unknown) => e instanceof BadRequest && /invalid TraceQL query/.test(e.message),
  );
  assert.throws(() => parseSearchParams({ q: '{ } | rate()' }, limits), /metrics/);
  assert.throws(() => parseSearchParams({ q: '{ }', spss: '-1' }, limits), /spss/);
  assert.throws(() => parseSearchParams({ minDuration: '2s', maxDuration: '1s' }, limits), /maxDuration/);
});
