// The streaming service and the port split in-process, with stand-in queriers: deadlines (the
// server's and the client's) and cancellation reach the query's signal, progress messages are
// throttled, malformed requests are INVALID_ARGUMENT, and HTTP/1 requests that arrive a byte at a
// time still reach the HTTP server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import { connect } from 'node:net';
import { credentials, makeGenericClientConstructor, Metadata, status, type Client, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { pino } from 'pino';
import { WireWriter } from '../otlp/wire.js';
import type { SearchRequest } from '../querier/search.js';
import type { SearchResult } from '../querier/search-result.js';
import { ClientGone, QueryTimeout } from './deadline.js';
import { shareWithGrpc } from './h2c.js';
import { createStreamingQuerier, STREAMING_METHODS, type StreamingDeps, type StreamingQuerier } from './streaming.js';

const EMPTY: SearchResult = {
  traces: [],
  metrics: { inspectedTraces: 0, inspectedBytes: 0, inspectedSpans: 0, totalBlocks: 100, totalBlockBytes: 0, completedJobs: 0, totalJobs: 100 },
};

/** What the stand-in search does; set per test. */
let searchImpl: (req: SearchRequest) => Promise<SearchResult> = async () => EMPTY;

const deps: StreamingDeps = {
  logger: pino({ level: 'silent' }),
  multitenancy: false,
  searchLimits: { defaultLimit: 20, maxLimit: 0, defaultSpss: 3, maxSpss: 0, maxResponseBytes: 0 },
  search: (_tenant, req) => searchImpl(req),
  tagNames: async () => [],
  tagValues: async () => [],
  searchTimeoutMs: 400,
  maxSearchDurationMs: () => 0,
  metricsLimits: { maxDurationMs: 0, maxExemplars: 100, maxIntervals: 10_000, maxResponseSeries: 0 },
  metricsQuery: () => Promise.reject(new Error('not used')),
  progressIntervalMs: 10_000,
};

let http: HttpServer;
let streaming: StreamingQuerier;
let client: Client & Record<string, (req: Buffer, md: Metadata, opts?: { deadline: number }) => ClientReadableStream<Buffer>>;
let port = 0;

before(async () => {
  streaming = createStreamingQuerier(deps);
  http = createServer((_req, res) => res.end('plain http'));
  shareWithGrpc(http, (s) => streaming.injectConnection(s), 2000);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const addr = http.address();
  port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  const Ctor = makeGenericClientConstructor(STREAMING_METHODS, 'StreamingQuerier');
  client = new Ctor(`127.0.0.1:${port}`, credentials.createInsecure()) as typeof client;
});
after(async () => {
  client.close();
  streaming.close();
  http.closeAllConnections();
  await new Promise((r) => http.close(r));
});

function searchRequest(query: string): Buffer {
  const w = new WireWriter();
  w.stringField(8, query);
  return Buffer.from(w.finish());
}

/** Messages of a Search call and how it ended. */
function search(req: Buffer, deadline?: number, onCall?: (c: ClientReadableStream<Buffer>) => void): Promise<{ msgs: Buffer[]; err: ServiceError | null }> {
  const call = client['Search']!(req, new Metadata(), ...(deadline !== undefined ? [{ deadline }] : []));
  onCall?.(call);
  const msgs: Buffer[] = [];
  return new Promise((resolve) => {
    call.on('data', (m: Buffer) => msgs.push(m));
    call.on('error', (err: ServiceError) => resolve({ msgs, err }));
    call.on('end', () => resolve({ msgs, err: null }));
  });
}

/** A search that runs until its signal fires; resolves `stopped` with the signal's reason. */
function hangingSearch(): Promise<unknown> {
  return new Promise((stopped) => {
    searchImpl = (req) =>
      new Promise((_resolve, reject) => {
        req.signal?.addEventListener('abort', () => {
          stopped(req.signal?.reason);
          reject(req.signal?.reason);
        });
      });
  });
}

test("the server's query timeout stops the query and answers DEADLINE_EXCEEDED naming the setting", async () => {
  const stopped = hangingSearch();
  const { err } = await search(searchRequest('{ }'));
  assert.equal(err?.code, status.DEADLINE_EXCEEDED);
  assert.match(err?.details ?? '', /querier\.search\.query_timeout/);
  assert.ok((await stopped) instanceof QueryTimeout);
});

test("the client's deadline stops the query", async () => {
  const stopped = hangingSearch();
  const { err } = await search(searchRequest('{ }'), Date.now() + 100);
  assert.equal(err?.code, status.DEADLINE_EXCEEDED);
  assert.ok((await stopped) instanceof ClientGone);
});

test('a cancelled call stops the query', async () => {
  const stopped = hangingSearch();
  const done = search(searchRequest('{ }'), undefined, (call) => setTimeout(() => call.cancel(), 50));
  assert.ok((await stopped) instanceof ClientGone);
  assert.equal((await done).err?.code, status.CANCELLED);
});

test('progress: the first block is sent, later ones no more often than the interval, and the last message always', async () => {
  searchImpl = async (req) => {
    for (let i = 1; i <= 50; i++) req.onProgress?.(() => ({ ...EMPTY, metrics: { ...EMPTY.metrics, completedJobs: i } }));
    return { ...EMPTY, metrics: { ...EMPTY.metrics, completedJobs: 100 } };
  };
  const { msgs, err } = await search(searchRequest('{ }'));
  assert.equal(err, null);
  assert.equal(msgs.length, 2, 'one progress message within the interval, then the answer');
});

test('malformed requests and bad TraceQL are INVALID_ARGUMENT with a message', async () => {
  searchImpl = async () => EMPTY;
  const truncated = await search(Buffer.from([0x42, 0x05, 0x7b]));
  assert.equal(truncated.err?.code, status.INVALID_ARGUMENT);
  assert.match(truncated.err?.details ?? '', /invalid SearchRequest/);
  const wrongType = await search(Buffer.from([0x40, 0x01]));
  assert.equal(wrongType.err?.code, status.INVALID_ARGUMENT);
  const badQuery = await search(searchRequest('{ .a = }'));
  assert.equal(badQuery.err?.code, status.INVALID_ARGUMENT);
  assert.match(badQuery.err?.details ?? '', /invalid TraceQL query/);
});

test('an HTTP/1 request arriving a byte at a time (starting like the HTTP/2 preface) reaches the HTTP server', async () => {
  const answer = await new Promise<string>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      const req = 'PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';
      s.write(req.slice(0, 1));
      setTimeout(() => s.write(req.slice(1)), 50);
    });
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('end', () => resolve(got));
    s.on('error', reject);
  });
  assert.match(answer, /^HTTP\/1\.1 200/);
  assert.match(answer, /plain http$/);
});
