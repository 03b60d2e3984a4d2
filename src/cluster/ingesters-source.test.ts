import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createLocalBackend } from '../backend/local.js';
import type { Block, BlockSource, SearchOptions } from '../block/block.js';
import { decodedTagNames, decodedTagValues } from '../block/decoded-tags.js';
import type { BlockSearchFilter } from '../block/search.js';
import { Ingester } from '../ingester/ingester.js';
import type { PushBatch, SpanEntry } from '../model/batch.js';
import type { TraceRecord } from '../model/trace-record.js';
import { decodeExportRequest } from '../otlp/decode-request.js';
import { decodeTrace } from '../otlp/trace-decode.js';
import { encodeTrace } from '../otlp/trace-encode.js';
import { Searcher } from '../querier/search.js';
import { TagService, parseTagRef } from '../querier/tags.js';
import { parse, validate, type RootExpr } from '../traceql/index.js';
import { generateExportRequest } from '../../bench/lib/generate.js';
import { IngestersSource } from './ingesters-source.js';
import { decodeQuery, encodeQuery } from './query-wire.js';
import { RingView, tokensFor, type RingInstance } from './ring.js';
import { IngesterClient, startIngesterRpcServer, type RpcServer } from './rpc.js';

const TENANT = 'single-tenant';
const logger = pino({ level: 'silent' });

/** A real ingester behind a real internal gRPC server on 127.0.0.1; counts what its searches read. */
interface Node {
  readonly ingester: Ingester;
  server: RpcServer;
  readonly addr: string;
  /** Its gRPC server is shut (the ingester is unreachable). */
  down: boolean;
  /** Candidates its head blocks handed to SearchRecent, and whether every such scan has ended. */
  scanned: number;
  openScans: number;
}

async function startNode(dir: string, name: string): Promise<Node> {
  const ingester = new Ingester({
    walDir: join(dir, name, 'wal'),
    backend: createLocalBackend(join(dir, name, 'traces')),
    traceIdlePeriodMs: 60_000,
    maxBlockDurationMs: 600_000,
    maxBlockBytes: 1 << 30,
    maxLiveBytes: 1 << 30,
    limits: () => ({ maxBytesPerTrace: 0, maxLiveTraces: 0 }),
    fsync: false,
    flushAllOnShutdown: false,
    logger,
  });
  await ingester.start();
  const node = { ingester, scanned: 0, openScans: 0, down: false } as { -readonly [K in keyof Node]: Node[K] };
  const counted = (b: Block): Block => ({
    info: b.info,
    findTrace: (id, signal) => b.findTrace(id, signal),
    async *search(filter: BlockSearchFilter, opts: SearchOptions) {
      node.openScans++;
      try {
        for await (const batch of b.search(filter, opts)) {
          node.scanned += batch.length;
          yield batch;
        }
      } finally {
        node.openScans--;
      }
    },
    tagNames: (scopes, q) => b.tagNames(scopes, q),
    tagValues: (tag, q) => b.tagValues(tag, q),
    traces: (signal) => b.traces(signal),
  });
  node.server = await startIngesterRpcServer({
    host: '127.0.0.1',
    port: 0,
    maxRecvBytes: 16 << 20,
    maxSendBytes: 16 << 20,
    ingester: { push: (batch) => ingester.push(batch), blocks: async (t, r) => (await ingester.blocks(t, r)).map(counted) },
    logger,
  });
  node.addr = `127.0.0.1:${node.server.port}`;
  return node;
}

interface Cluster {
  readonly nodes: Node[];
  readonly source: IngestersSource;
  stop(): Promise<void>;
}

async function cluster(n: number, replicationFactor: number): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'rubato-pushdown-'));
  const nodes = await Promise.all(Array.from({ length: n }, (_, i) => startNode(dir, `ingester-${i}`)));
  const clients = new Map<string, IngesterClient>();
  const instances = (): RingInstance[] =>
    nodes.map((x, i) => ({
      id: `ingester-${i}`,
      addr: x.addr,
      httpAddr: x.addr,
      state: 'ACTIVE',
      heartbeatMs: Date.now(),
      tokens: tokensFor(`ingester-${i}`, 16),
    }));
  const source = new IngestersSource({
    ring: () => new RingView(instances()),
    client: (inst) => {
      let c = clients.get(inst.addr);
      if (c === undefined) clients.set(inst.addr, (c = new IngesterClient(inst.addr, 16 << 20)));
      return c;
    },
    replicationFactor,
    heartbeatTimeoutMs: 60_000,
    timeoutMs: 20_000,
    logger,
  });
  return {
    nodes,
    source,
    async stop() {
      for (const c of clients.values()) c.close();
      for (const x of nodes) {
        if (!x.down) await x.server.close();
        await x.ingester.stop();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function takeDown(x: Node): Promise<void> {
  x.down = true;
  await x.server.close();
}

/** The generated traces, span entries grouped per trace in generation order. */
function traces(count: number, spansPerTrace: number, seed: number): SpanEntry[][] {
  const batch = decodeExportRequest(generateExportRequest({ traces: count, spansPerTrace, seed }), TENANT);
  const byTrace = new Map<string, SpanEntry[]>();
  for (const s of batch.spans) {
    const g = byTrace.get(s.traceId);
    if (g === undefined) byTrace.set(s.traceId, [s]);
    else g.push(s);
  }
  return [...byTrace.values()];
}

function pushBatch(spans: SpanEntry[]): PushBatch {
  const payload = encodeTrace(spans);
  return { tenant: TENANT, spans, payload, byteSize: payload.byteLength };
}

/**
 * The pull path as it was: every recent trace from every ingester, merged, evaluated here. The
 * IngestersBlock still takes it when the filter carries no query, and metrics use its traces().
 */
function pulled(src: BlockSource): BlockSource {
  return {
    async blocks(tenant, range) {
      return (await src.blocks(tenant, range)).map((b): Block => {
        const all = async (): Promise<TraceRecord[]> => {
          const out: TraceRecord[] = [];
          for await (const r of b.traces()) out.push(r);
          return out;
        };
        return {
          info: b.info,
          findTrace: (id, signal) => b.findTrace(id, signal),
          search: (filter, opts) => b.search({ ...filter, query: undefined }, opts),
          tagNames: async (scopes, q) => decodedTagNames(await all(), scopes, q.run, q.signal),
          tagValues: async (tag, q) => decodedTagValues(await all(), tag, q.run, q.signal),
          traces: (signal) => b.traces(signal),
        };
      });
    },
  };
}

function query(text: string): RootExpr {
  const q = parse(text);
  validate(q);
  return q;
}

function spanIdOf(s: SpanEntry): string {
  const t = decodeTrace(encodeTrace([s]));
  return Buffer.from(t.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.spanId).toString('hex');
}

const sortedIds = (r: { traces: readonly { traceId: string }[] }): string[] => r.traces.map((t) => t.traceId).sort();

test('search pushdown finds a trace whose parts sit on two ingesters when only one part matches, and evaluates it whole', async () => {
  const c = await cluster(3, 2);
  try {
    const [split, ...rest] = traces(20, 6, 7);
    const head = split!.slice(0, -1);
    const last = split![split!.length - 1]!;
    // Ingesters 0 and 1 hold the trace but for its last span (they missed that push), ingester 2 only the last span.
    await c.nodes[0]!.ingester.push(pushBatch([...head, ...rest.flat()]));
    await c.nodes[1]!.ingester.push(pushBatch(head));
    await c.nodes[2]!.ingester.push(pushBatch([last, ...rest.flat()]));
    const searcher = new Searcher([c.source]);
    const r = await searcher.search(TENANT, { query: query(`{ span:id = "${spanIdOf(last)}" }`), limit: 20, spss: 3 });
    assert.deepEqual(sortedIds(r), [last.traceId]);
    const t = r.traces[0]!;
    let spans = 0;
    for (const st of t.serviceStats.values()) spans += st.spanCount;
    assert.equal(spans, split!.length, 'the answer is the merged trace, not the matching part');
    assert.notEqual(t.rootServiceName, '<root span not yet received>');
  } finally {
    await c.stop();
  }
});

test('search pushdown answers as the pull path does, structural and aggregate queries included', async () => {
  const c = await cluster(3, 2);
  try {
    const all = traces(120, 8, 11);
    // Each trace on two of three ingesters; every fifth also partly on the third (a replica that was down).
    for (let i = 0; i < all.length; i++) {
      const t = all[i]!;
      const a = i % 3;
      const b = (i + 1) % 3;
      await c.nodes[a]!.ingester.push(pushBatch(t));
      await c.nodes[b]!.ingester.push(pushBatch(i % 5 === 0 ? t.slice(0, 3) : t));
      if (i % 5 === 0) await c.nodes[(i + 2) % 3]!.ingester.push(pushBatch(t.slice(3)));
    }
    const pushed = new Searcher([c.source]);
    const pull = new Searcher([pulled(c.source)]);
    for (const text of [
      '{ resource.service.name = "checkout" }',
      '{ status = error }',
      '{ resource.service.name = "frontend" } >> { resource.service.name = "payments" }',
      '{ span.http.method = "GET" } | count() > 1',
      '{ duration > 50ms && kind = server }',
      '{ .db.system = "redis" } && { status != error }',
    ]) {
      const req = { query: query(text), limit: 1000, spss: 3 };
      const [a, b] = await Promise.all([pushed.search(TENANT, req), pull.search(TENANT, req)]);
      assert.ok(b.traces.length > 0, `${text} finds something`);
      assert.deepEqual(sortedIds(a), sortedIds(b), text);
      assert.deepEqual(a.traces, b.traces, text);
    }
    assert.ok(
      c.nodes.every((x) => x.scanned > 0),
      'the ingesters evaluated the searches',
    );
  } finally {
    await c.stop();
  }
});

test('a search that has enough stops the ingesters: they evaluate about a batch, not everything', async () => {
  const c = await cluster(2, 2);
  try {
    const all = traces(1500, 2, 3);
    for (const x of c.nodes) await x.ingester.push(pushBatch(all.flat()));
    const r = await new Searcher([c.source]).search(TENANT, { query: query('{ }'), limit: 5, spss: 1 });
    assert.equal(r.traces.length, 5);
    for (const x of c.nodes) {
      for (let i = 0; i < 200 && x.openScans > 0; i++) await new Promise((res) => setTimeout(res, 25));
      assert.equal(x.openScans, 0, 'the ingester ended its scan');
      assert.ok(x.scanned > 0 && x.scanned < 500, `the ingester evaluated ${x.scanned} of 1500 traces`);
    }
  } finally {
    await c.stop();
  }
});

test('a cancelled SearchRecent call stops the ingester', async () => {
  const c = await cluster(1, 1);
  try {
    await c.nodes[0]!.ingester.push(pushBatch(traces(1500, 2, 5).flat()));
    const client = new IngesterClient(c.nodes[0]!.addr, 16 << 20);
    try {
      const call = client.searchRecent({ tenant: TENANT, query: encodeQuery(query('{ }')), credit: 10 }, 20_000);
      const it = call.ids[Symbol.asyncIterator]();
      let got = 0;
      while (got < 10) {
        const n = await it.next();
        assert.ok(n.done !== true);
        got += n.value.length;
      }
      assert.equal(got, 10, 'no more IDs than the credit');
      assert.equal(c.nodes[0]!.openScans, 1, 'the ingester waits for credit');
      call.cancel();
      for (let i = 0; i < 200 && c.nodes[0]!.openScans > 0; i++) await new Promise((res) => setTimeout(res, 25));
      assert.equal(c.nodes[0]!.openScans, 0, 'the ingester ended its scan');
      assert.ok(c.nodes[0]!.scanned < 1500);
      await assert.rejects(it.next(), /ingester .*[Cc]ancel/);
    } finally {
      client.close();
    }
  } finally {
    await c.stop();
  }
});

test('more than RF-1 ingesters unreadable: search and tags fail as incomplete; RF-1 down still answers', async () => {
  const c = await cluster(3, 2);
  try {
    const all = traces(30, 4, 9);
    for (const x of c.nodes) await x.ingester.push(pushBatch(all.flat()));
    await takeDown(c.nodes[0]!);
    const searcher = new Searcher([c.source]);
    const tags = new TagService([c.source]);
    const req = { query: query('{ resource.service.name = "cart" }'), limit: 100, spss: 1 };
    const expected = await new Searcher([pulled(c.source)]).search(TENANT, req);
    assert.deepEqual(sortedIds(await searcher.search(TENANT, req)), sortedIds(expected));
    await takeDown(c.nodes[1]!);
    await assert.rejects(searcher.search(TENANT, req), /recent data may be incomplete/);
    await assert.rejects(tags.tagNames(TENANT, ['span']), /recent data may be incomplete/);
    await assert.rejects(tags.tagValues(TENANT, parseTagRef('resource.service.name')), /recent data may be incomplete/);
  } finally {
    await c.stop();
  }
});

test('tag names and values evaluated on the ingesters equal the pull path, with and without a query', async () => {
  const c = await cluster(3, 2);
  try {
    const all = traces(80, 6, 13);
    for (let i = 0; i < all.length; i++) {
      await c.nodes[i % 3]!.ingester.push(pushBatch(all[i]!));
      await c.nodes[(i + 1) % 3]!.ingester.push(pushBatch(i % 4 === 0 ? all[i]!.slice(0, 2) : all[i]!));
    }
    const pushed = new TagService([c.source]);
    const pull = new TagService([pulled(c.source)]);
    for (const q of [undefined, query('{ resource.service.name = "payments" }'), query('{ status = error } >> { }')]) {
      const req = q === undefined ? {} : { query: q };
      const scopes = ['resource', 'span', 'intrinsic', 'event', 'link', 'instrumentation'] as const;
      assert.deepEqual(await pushed.tagNames(TENANT, scopes, req), await pull.tagNames(TENANT, scopes, req));
      for (const name of ['resource.service.name', 'span.http.method', 'name', '.db.system', 'span.http.status_code']) {
        const tag = parseTagRef(name);
        const [a, b] = await Promise.all([pushed.tagValues(TENANT, tag, req), pull.tagValues(TENANT, tag, req)]);
        assert.deepEqual(a, b, name);
      }
    }
    // Limit and byte bound behave as before.
    const tag = parseTagRef('span.http.method');
    assert.deepEqual(await pushed.tagValues(TENANT, tag, { limit: 2 }), await pull.tagValues(TENANT, tag, { limit: 2 }));
    assert.deepEqual(await pushed.tagValues(TENANT, tag, { maxBytes: 7 }), await pull.tagValues(TENANT, tag, { maxBytes: 7 }));
  } finally {
    await c.stop();
  }
});

test('queries travel to the ingesters whole, infinities included; a bad query or request is refused, not crashed on', async () => {
  const q = query('{ duration > 1e400 || span.x = -1e400 } | count() > 1');
  assert.deepEqual(decodeQuery(encodeQuery(q)), q);
  assert.throws(() => decodeQuery('{"kind":"nonsense"}'), /not a TraceQL query tree/);
  const c = await cluster(1, 1);
  const client = new IngesterClient(c.nodes[0]!.addr, 16 << 20);
  try {
    const call = client.searchRecent({ tenant: TENANT, query: '{"kind":1}', credit: 5 }, 5_000);
    await assert.rejects(
      (async () => {
        for await (const _ of call.ids) assert.fail('no IDs for a bad query');
      })(),
      /undecodable query/,
    );
    await assert.rejects(client.findTraces({ tenant: TENANT, traceIds: ['xyz'] }, 5_000), /32 hex digits/);
    await assert.rejects(client.tagNames({ tenant: TENANT, scopes: ['nope' as 'span'] }, 5_000), /bad scopes/);
  } finally {
    client.close();
    await c.stop();
  }
});

test('an ingester holding every match is asked for more until the search has enough', async () => {
  const c = await cluster(3, 1);
  try {
    await c.nodes[1]!.ingester.push(pushBatch(traces(400, 2, 17).flat()));
    const r = await new Searcher([c.source]).search(TENANT, { query: query('{ }'), limit: 150, spss: 1 });
    assert.equal(r.traces.length, 150);
  } finally {
    await c.stop();
  }
});
