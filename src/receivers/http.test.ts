import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { OTLPTraceExporter as HttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as HttpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { PushError } from '../model/pusher.js';
import { SINGLE_TENANT } from '../model/tenant.js';
import { encodeExportResponse, exportResponseJson } from '../otlp/export-response.js';
import { startHttpReceiver, TRACES_PATH } from './http.js';
import type { HttpReceiver } from './http.js';
import type { WarnLogger } from '../model/logger.js';
import {
  encodeRequest,
  exportTraces,
  gzipBomb,
  makeSpans,
  RecordingPusher,
  ResultRecordingExporter,
  startCountingProxy,
} from '../../test/support/receiver-fixtures.js';

type ProtoConfig = NonNullable<ConstructorParameters<typeof HttpProtoExporter>[0]>;

const PROTO = 'application/x-protobuf';
const JSON_CT = 'application/json';
const GARBAGE = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);

interface Harness {
  readonly receiver: HttpReceiver;
  readonly pusher: RecordingPusher;
  readonly logged: string[];
  readonly url: string;
}

async function start(opts: { multitenancy?: boolean; maxBodyBytes?: number } = {}): Promise<Harness> {
  const pusher = new RecordingPusher();
  const logged: string[] = [];
  const logger: WarnLogger = { warn: (_o, m) => logged.push(m), error: (_o, m) => logged.push(m) };
  const receiver = await startHttpReceiver({
    endpoint: '127.0.0.1:0',
    maxBodyBytes: opts.maxBodyBytes ?? 4 << 20,
    multitenancy: opts.multitenancy ?? false,
    pusher,
    logger,
  });
  return { receiver, pusher, logged, url: `http://127.0.0.1:${receiver.port}${TRACES_PATH}` };
}

interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly retryAfter: string | null;
  readonly body: Buffer;
}

async function post(h: Harness, body: Uint8Array | string, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(h.url, { method: 'POST', body, headers });
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    retryAfter: res.headers.get('retry-after'),
    body: Buffer.from(await res.arrayBuffer()),
  };
}

/** A google.rpc.Status in protobuf starts with field 1 (code) as a varint. */
function protoStatusCode(body: Buffer): number {
  assert.equal(body[0], 0x08, 'Status.code tag');
  return body[1]!;
}

function jsonStatus(a: Answer): { code: number; message: string } {
  assert.match(a.contentType, /^application\/json/);
  return JSON.parse(a.body.toString('utf8')) as { code: number; message: string };
}

async function assertStillServing(h: Harness): Promise<void> {
  const before = h.pusher.spanCount();
  const a = await post(h, encodeRequest(await makeSpans(1, 2)), { 'content-type': PROTO });
  assert.equal(a.status, 200);
  assert.equal(h.pusher.spanCount(), before + 2);
}

async function sendWith(h: Harness, inner: SpanExporter): Promise<string[]> {
  const exporter = new ResultRecordingExporter(inner);
  const ids = await exportTraces(exporter, 5, 4);
  assert.ok(exporter.results.length > 0);
  for (const r of exporter.results) assert.equal(r.code, 0, `export failed: ${String(r.error)}`);
  assert.deepEqual(h.pusher.traceIds(), new Set(ids));
  assert.equal(h.pusher.spanCount(), 20);
  return ids;
}

/** Exports through a byte-counting proxy and checks the upload really was compressed. */
async function sendGzipped(h: Harness, makeExporter: (url: string) => SpanExporter): Promise<void> {
  const proxy = await startCountingProxy(h.receiver.port);
  try {
    const exporter = new ResultRecordingExporter(makeExporter(`http://127.0.0.1:${proxy.port}${TRACES_PATH}`));
    const payload = 256 << 10;
    const ids = await exportTraces(exporter, 2, 3, payload);
    for (const r of exporter.results) assert.equal(r.code, 0, `export failed: ${String(r.error)}`);
    assert.deepEqual(h.pusher.traceIds(), new Set(ids));
    assert.equal(h.pusher.spanCount(), 6);
    assert.ok(h.pusher.batches.reduce((n, b) => n + b.byteSize, 0) > 2 * payload);
    assert.ok(proxy.bytesIn() < payload / 4, `sent ${proxy.bytesIn()} bytes`);
  } finally {
    await proxy.close();
  }
}

const GZIP = 'gzip' as ProtoConfig['compression'];

test('http: every span from the OTel HTTP/protobuf exporter arrives, plain and gzip', async () => {
  const h = await start();
  try {
    await sendWith(h, new HttpProtoExporter({ url: h.url }));
    for (const b of h.pusher.batches) assert.equal(b.tenant, SINGLE_TENANT);
    h.pusher.batches.length = 0;
    await sendGzipped(h, (url) => new HttpProtoExporter({ url, compression: GZIP }));
  } finally {
    await h.receiver.close();
  }
});

test('http: every span from the OTel HTTP/JSON exporter arrives, plain and gzip', async () => {
  const h = await start();
  try {
    await sendWith(h, new HttpJsonExporter({ url: h.url }));
    h.pusher.batches.length = 0;
    await sendGzipped(h, (url) => new HttpJsonExporter({ url, compression: GZIP }));
  } finally {
    await h.receiver.close();
  }
});

test('http: multitenancy takes the tenant from X-Scope-OrgID and requires it', async () => {
  const h = await start({ multitenancy: true });
  try {
    await sendWith(h, new HttpProtoExporter({ url: h.url, headers: { 'X-Scope-OrgID': 'acme' } }));
    for (const b of h.pusher.batches) assert.equal(b.tenant, 'acme');
    const body = encodeRequest(await makeSpans(1, 1));
    const missing = await post(h, body, { 'content-type': JSON_CT });
    assert.equal(missing.status, 401);
    assert.deepEqual(jsonStatus(missing), { code: 16, message: 'no org id' });
    const invalid = await post(h, body, { 'content-type': PROTO, 'x-scope-orgid': 'a/b' });
    assert.equal(invalid.status, 400);
    assert.equal(protoStatusCode(invalid.body), 3);
    assert.equal(h.pusher.spanCount(), 20);
  } finally {
    await h.receiver.close();
  }
});

test('http: responses follow the request content type', async () => {
  const h = await start();
  try {
    const spans = await makeSpans(2, 2);
    const proto = await post(h, encodeRequest(spans), { 'content-type': PROTO });
    assert.equal(proto.status, 200);
    assert.equal(proto.contentType, PROTO);
    assert.deepEqual(proto.body, Buffer.from(encodeExportResponse(0, '')));

    const alt = await post(h, encodeRequest(spans), { 'content-type': 'Application/Protobuf' });
    assert.equal(alt.status, 200);
    assert.equal(alt.contentType, 'application/protobuf');

    const jsonBody = JsonTraceSerializer.serializeRequest(spans);
    assert.ok(jsonBody !== undefined);
    const json = await post(h, jsonBody, { 'content-type': 'application/json; charset=utf-8' });
    assert.equal(json.status, 200);
    assert.match(json.contentType, /^application\/json/);
    assert.deepEqual(JSON.parse(json.body.toString('utf8')), exportResponseJson(0, ''));
    assert.equal(h.pusher.spanCount(), 12);
    assert.deepEqual(h.pusher.traceIds(), new Set(spans.map((s) => s.spanContext().traceId)));
  } finally {
    await h.receiver.close();
  }
});

test('http: spans refused by limits come back as an OTLP partial success', async () => {
  const h = await start();
  try {
    h.pusher.result = { rejectedSpans: 3, message: '3 spans refused: TRACE_TOO_LARGE' };
    const spans = await makeSpans(2, 2);
    const proto = await post(h, encodeRequest(spans), { 'content-type': PROTO });
    assert.equal(proto.status, 200);
    assert.deepEqual(proto.body, Buffer.from(encodeExportResponse(3, '3 spans refused: TRACE_TOO_LARGE')));
    const json = await post(h, JsonTraceSerializer.serializeRequest(spans)!, { 'content-type': 'application/json' });
    assert.equal(json.status, 200);
    assert.deepEqual(JSON.parse(json.body.toString('utf8')), { partialSuccess: { rejectedSpans: '3', errorMessage: '3 spans refused: TRACE_TOO_LARGE' } });
  } finally {
    await h.receiver.close();
  }
});

test('http: deflate bodies (zlib and raw) are accepted', async () => {
  const h = await start();
  try {
    const body = encodeRequest(await makeSpans(1, 3));
    for (const encoded of [deflateSync(body), deflateRawSync(body)]) {
      const a = await post(h, encoded, { 'content-type': PROTO, 'content-encoding': 'deflate' });
      assert.equal(a.status, 200);
    }
    assert.equal(h.pusher.spanCount(), 6);
  } finally {
    await h.receiver.close();
  }
});

test('http: malformed, mistyped and mis-encoded bodies are refused and the receiver keeps serving', async () => {
  const h = await start();
  try {
    const good = encodeRequest(await makeSpans(1, 1));

    const garbage = await post(h, GARBAGE, { 'content-type': PROTO });
    assert.equal(garbage.status, 400);
    assert.equal(garbage.contentType, PROTO);
    assert.equal(protoStatusCode(garbage.body), 3);
    await assertStillServing(h);

    const badJson = await post(h, '{"resourceSpans": [', { 'content-type': JSON_CT });
    assert.equal(badJson.status, 400);
    assert.equal(jsonStatus(badJson).code, 3);
    await assertStillServing(h);

    const wrongType = await post(h, good, { 'content-type': 'text/plain' });
    assert.equal(wrongType.status, 415);
    assert.equal(jsonStatus(wrongType).code, 3);
    await assertStillServing(h);

    const noType = await post(h, good, {});
    assert.equal(noType.status, 415);
    await assertStillServing(h);

    const br = await post(h, good, { 'content-type': PROTO, 'content-encoding': 'br' });
    assert.equal(br.status, 415);
    await assertStillServing(h);

    const corrupt = gzipSync(good);
    corrupt.fill(0x55, 10, 20);
    const badGzip = await post(h, corrupt, { 'content-type': PROTO, 'content-encoding': 'gzip' });
    assert.equal(badGzip.status, 400);
    await assertStillServing(h);

    const truncated = await post(h, gzipSync(good).subarray(0, 15), { 'content-type': PROTO, 'content-encoding': 'gzip' });
    assert.equal(truncated.status, 400);
    await assertStillServing(h);

    assert.equal(h.pusher.spanCount(), 14);
    assert.deepEqual(h.logged, []);
  } finally {
    await h.receiver.close();
  }
});

test('http: a gzip bomb gets 413 without being inflated', async () => {
  const h = await start({ maxBodyBytes: 4 << 20 });
  try {
    const bomb = gzipBomb(); // ~1 MB on the wire, 1 GiB inflated
    assert.ok(bomb.length < 4 << 20);
    const a = await post(h, bomb, { 'content-type': PROTO, 'content-encoding': 'gzip' });
    assert.equal(a.status, 413);
    assert.equal(protoStatusCode(a.body), 8);
    assert.equal(h.pusher.batches.length, 0);
    await assertStillServing(h);
  } finally {
    await h.receiver.close();
  }
});

function postChunked(h: Harness, chunks: Buffer[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(h.url, { method: 'POST', headers: { 'content-type': PROTO } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    // The server may answer and close before the whole upload is written; only the status matters.
    req.on('error', (err) => reject(err));
    for (const c of chunks) req.write(c);
    req.end();
  });
}

test('http: bodies over maxBodyBytes get 413, with or without Content-Length', async () => {
  const h = await start({ maxBodyBytes: 64 << 10 });
  try {
    const sized = await post(h, Buffer.alloc(100 << 10), { 'content-type': PROTO });
    assert.equal(sized.status, 413);
    assert.equal(protoStatusCode(sized.body), 8);
    await assertStillServing(h);

    const chunked = await postChunked(h, [Buffer.alloc(40 << 10), Buffer.alloc(40 << 10)]);
    assert.equal(chunked, 413);
    await assertStillServing(h);
  } finally {
    await h.receiver.close();
  }
});

test('http: push failures map onto status codes', async () => {
  const h = await start();
  try {
    const spans = await makeSpans(1, 1);
    const body = encodeRequest(spans);
    const jsonBody = JsonTraceSerializer.serializeRequest(spans);
    assert.ok(jsonBody !== undefined);
    const cases: Array<[Error, number, number]> = [
      [new PushError('invalid', 'bad span'), 400, 3],
      [new PushError('too_large', 'trace too large'), 413, 8],
      [new PushError('rate_limited', 'ingestion rate limit exceeded'), 429, 8],
      [new PushError('unavailable', 'ingester not ready'), 503, 14],
      [new Error('disk on fire /var/tempo/wal'), 500, 13],
    ];
    for (const [failure, httpStatus, rpcCode] of cases) {
      h.pusher.failure = failure;
      const a = await post(h, body, { 'content-type': PROTO });
      assert.equal(a.status, httpStatus, failure.message);
      assert.equal(protoStatusCode(a.body), rpcCode);
      assert.equal(a.retryAfter, httpStatus === 429 ? '1' : null);
      const j = jsonStatus(await post(h, jsonBody, { 'content-type': JSON_CT }));
      assert.deepEqual(j, { code: rpcCode, message: rpcCode === 13 ? 'internal error' : failure.message });
      h.pusher.failure = undefined;
      await assertStillServing(h);
    }
    assert.equal(h.logged.length, 2, 'only the internal errors are logged');
  } finally {
    await h.receiver.close();
  }
});
