// The query frontend against real HTTP queriers (the internal routes on fastify, over in-memory
// blocks): jobs go past a querier that cannot be reached, a job naming blocks compacted away is made
// good by reading the block list again, and the merged answers equal one querier's over all the data.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import type { Block, BlockSource } from '../block/block.js';
import type { TraceRecord } from '../model/trace-record.js';
import { MetricsQuerier } from '../querier/metrics.js';
import { Searcher } from '../querier/search.js';
import { parse } from '../traceql/index.js';
import { syntheticTraces } from '../../test/support/synthetic-traces.js';
import { MemoryBlock, sourceOf } from '../../test/support/memory-block.js';
import type { BlockRef } from './frontend-jobs.js';
import { querierHttp } from './querier-http.js';
import { QueryFrontend } from './frontend.js';
import { registerQuerierRoutes, throttledRefresh } from './querier-routes.js';
import type { RingInstance } from './ring.js';

const SEC = 1_000_000_000n;
const T0 = 1_767_225_600n * SEC;
const traces = syntheticTraces({ traces: 400, spansPerTrace: 4, seed: 3, startNs: T0 });
// Two stored blocks, later compacted into one; recent data overlapping the newest block.
const block = (id: string, recs: TraceRecord[], endMs: number, spansAlsoElsewhere = false): MemoryBlock =>
  new MemoryBlock(recs, { id, tenant: 'single-tenant', endMs, bytes: 100, spansAlsoElsewhere });
const a = block('a', traces.slice(0, 150), 1_000);
const b = block('b', traces.slice(150, 300), 2_000);
const compacted = block('c', traces.slice(0, 300), 2_000);
const recent = block('ingesters', traces.slice(250), 3_000, true);
const logger = pino({ level: 'silent' });

let servers: FastifyInstance[] = [];
let queriers: RingInstance[] = [];
let storedNow: Block[] = [a, b];

async function querier(id: string): Promise<RingInstance> {
  const app = Fastify();
  registerQuerierRoutes(app, {
    multitenancy: false,
    recent: { blocks: async () => [recent] },
    stored: { blocks: async () => storedNow } satisfies BlockSource,
    refreshBlocks: async () => undefined,
    searchTimeoutMs: 0,
    traceByIdTimeoutMs: 0,
    maxTagValueBytes: () => 0,
    logger,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  servers.push(app);
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return { id, addr: '', httpAddr: `127.0.0.1:${port}`, state: 'ACTIVE', heartbeatMs: Date.now(), tokens: [] };
}

before(async () => {
  // The first querier is gone: its port is closed.
  const dead = await querier('dead');
  await servers[0]!.close();
  servers = [];
  queriers = [dead, await querier('q1'), await querier('q2')];
});

after(async () => {
  for (const s of servers) await s.close();
});

function frontend(blocks: () => BlockRef[], refresh: () => Promise<void> = async () => undefined): QueryFrontend {
  return new QueryFrontend({
    queriers: () => queriers,
    blocks,
    refreshBlocks: refresh,
    search: { concurrentJobs: 2, targetBytesPerJob: 1, queryBackendAfterMs: 0, queryIngestersUntilMs: 0 },
    metrics: { intervalMs: 20_000, concurrentJobs: 2, queryBackendAfterMs: 0 },
    maxRetries: 2,
    timeoutMs: 10_000,
    http: querierHttp(null),
    logger,
  });
}

const ref = (blk: MemoryBlock): BlockRef => ({ id: blk.info.id, startMs: blk.info.startMs, endMs: blk.info.endMs, bytes: blk.info.bytes });

test('a search through the frontend: jobs past an unreachable querier, merged, equal to one search over everything', async () => {
  storedNow = [a, b];
  const query = parse('{ resource.service.name = "cart" }');
  const req = { query, limit: 10_000, spss: 3 };
  const progress: number[] = [];
  const got = await frontend(() => [ref(a), ref(b)]).search('single-tenant', { ...req, onProgress: (p) => progress.push(p().metrics.completedJobs) });
  const want = await new Searcher([sourceOf(recent, a, b)]).search('single-tenant', req);
  assert.ok(want.traces.length > 20);
  assert.deepEqual(
    got.traces.map((t) => t.traceId),
    want.traces.map((t) => t.traceId),
  );
  assert.equal(got.metrics.totalJobs, 3, 'recent data, block a, block b');
  assert.equal(got.metrics.completedJobs, 3);
  assert.deepEqual(
    progress.sort((x, y) => x - y),
    [1, 2, 3],
    'progress after each job',
  );
  // A small limit: the answer is cut, newest first.
  const few = await frontend(() => [ref(a), ref(b)]).search('single-tenant', { ...req, limit: 5 });
  assert.equal(few.traces.length, 5);
});

test('blocks compacted away between two polls: the frontend reads its block list again and searches the new block', async () => {
  // The queriers already see only the compacted block; the frontend's list is a poll behind.
  storedNow = [compacted];
  let list = [ref(a), ref(b)];
  let refreshed = 0;
  const f = frontend(
    () => list,
    async () => {
      refreshed++;
      list = [ref(compacted)];
    },
  );
  const query = parse('{ resource.service.name = "cart" }');
  const req = { query, limit: 10_000, spss: 3 };
  const got = await f.search('single-tenant', req);
  const want = await new Searcher([sourceOf(recent, compacted)]).search('single-tenant', req);
  assert.equal(refreshed, 1);
  assert.deepEqual(got.traces.map((t) => t.traceId).sort(), want.traces.map((t) => t.traceId).sort());
  assert.equal(got.metrics.totalJobs, 4, 'the first three jobs and one over the new block');
});

test('a metrics range through the frontend, split into time jobs, equals one evaluation', async () => {
  storedNow = [a, b];
  const query = parse('{} | count_over_time() by (resource.service.name)');
  const range = { startNs: T0 + 2n * SEC, endNs: T0 + 60n * SEC, stepNs: 2n * SEC, instant: false };
  const got = await frontend(() => [ref(a), ref(b)]).metricsQuery('single-tenant', { query, range, exemplars: 0 });
  const want = await new MetricsQuerier([sourceOf(recent), sourceOf(a, b)]).query('single-tenant', { query, range, exemplars: 0 });
  assert.ok(got.metrics.totalJobs > 1, `${got.metrics.totalJobs} jobs`);
  const rows = (x: typeof got): string[] => x.series.map((s) => `${JSON.stringify(s.labels)} ${s.values.join(',')}`).sort();
  assert.deepEqual(rows(got), rows(want));
  assert.deepEqual(got.timestampsMs, want.timestampsMs);
});

test('no querier reachable: the request fails with 502 and says so', async () => {
  const saved = queriers;
  queriers = [saved[0]!];
  try {
    await assert.rejects(
      frontend(() => []).search('single-tenant', { query: parse('{}'), limit: 5, spss: 3 }),
      (err: Error & { statusCode?: number }) => err.statusCode === 502 && /no querier answered/.test(err.message),
    );
  } finally {
    queriers = saved;
  }
});

test('block-list re-reads for unknown blocks: one at a time, at most once per gap', async () => {
  let polls = 0;
  let release: () => void = () => undefined;
  const refresh = throttledRefresh(
    () =>
      new Promise<void>((r) => {
        polls++;
        release = r;
      }),
    60_000,
  );
  const first = refresh();
  const second = refresh();
  assert.equal(polls, 1, 'a caller during a re-read shares it');
  release();
  await Promise.all([first, second]);
  await refresh();
  assert.equal(polls, 1, 'within the gap the list read moments ago stands');
});
