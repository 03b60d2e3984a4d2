import { test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials, makeGenericClientConstructor, Metadata, status } from '@grpc/grpc-js';
import type { ChannelOptions, ServiceError } from '@grpc/grpc-js';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { PushError } from '../model/pusher.js';
import { SINGLE_TENANT } from '../model/tenant.js';
import { encodeExportResponse } from '../otlp/export-response.js';
import { startGrpcReceiver, TRACE_EXPORT_PATH } from './grpc.js';
import type { GrpcReceiver } from './grpc.js';
import type { WarnLogger } from '../model/logger.js';
import { encodeRequest, exportTraces, makeSpans, RecordingPusher, ResultRecordingExporter, startCountingProxy } from '../../test/support/receiver-fixtures.js';

type ExporterConfig = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>;

const GARBAGE = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]); // field 1, length far past the end

interface Harness {
  readonly receiver: GrpcReceiver;
  readonly pusher: RecordingPusher;
  readonly logged: string[];
}

async function start(opts: { multitenancy?: boolean; maxRecvBytes?: number } = {}): Promise<Harness> {
  const pusher = new RecordingPusher();
  const logged: string[] = [];
  const logger: WarnLogger = { warn: (_o, m) => logged.push(m), error: (_o, m) => logged.push(m) };
  const receiver = await startGrpcReceiver({
    endpoint: '127.0.0.1:0',
    maxRecvBytes: opts.maxRecvBytes ?? 4 << 20,
    multitenancy: opts.multitenancy ?? false,
    pusher,
    logger,
  });
  return { receiver, pusher, logged };
}

interface RawResult {
  readonly err: ServiceError | null;
  readonly response: Buffer | undefined;
}

const TraceServiceClient = makeGenericClientConstructor({}, 'TraceService');

function rawExport(port: number, body: Buffer, metadata = new Metadata(), options: ChannelOptions = {}): Promise<RawResult> {
  const client = new TraceServiceClient(`127.0.0.1:${port}`, credentials.createInsecure(), options);
  return new Promise<RawResult>((resolve) => {
    client.makeUnaryRequest(
      TRACE_EXPORT_PATH,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      metadata,
      (err, response) => {
        client.close();
        resolve({ err, response });
      },
    );
  });
}

async function assertStillServing(h: Harness): Promise<void> {
  const before = h.pusher.spanCount();
  const { err } = await rawExport(h.receiver.port, encodeRequest(await makeSpans(1, 2)));
  assert.equal(err, null);
  assert.equal(h.pusher.spanCount(), before + 2);
}

async function sendWithExporter(h: Harness, config: ExporterConfig): Promise<string[]> {
  const exporter = new ResultRecordingExporter(new OTLPTraceExporter({ url: `http://127.0.0.1:${h.receiver.port}`, ...config }));
  const ids = await exportTraces(exporter, 5, 4);
  assert.ok(exporter.results.length > 0);
  for (const r of exporter.results) assert.equal(r.code, 0, `export failed: ${String(r.error)}`);
  return ids;
}

test('grpc: every span from the OTel gRPC exporter arrives with its trace ID', async () => {
  const h = await start();
  try {
    const ids = await sendWithExporter(h, {});
    assert.deepEqual(h.pusher.traceIds(), new Set(ids));
    assert.equal(h.pusher.spanCount(), 20);
    for (const b of h.pusher.batches) assert.equal(b.tenant, SINGLE_TENANT);
  } finally {
    await h.receiver.close();
  }
});

test('grpc: gzip-compressed exports from the OTel gRPC exporter arrive', async () => {
  const h = await start();
  const proxy = await startCountingProxy(h.receiver.port);
  try {
    const exporter = new ResultRecordingExporter(
      new OTLPTraceExporter({ url: `http://127.0.0.1:${proxy.port}`, compression: 'gzip' as ExporterConfig['compression'] }),
    );
    const payload = 256 << 10;
    const ids = await exportTraces(exporter, 2, 3, payload);
    for (const r of exporter.results) assert.equal(r.code, 0, `export failed: ${String(r.error)}`);
    assert.deepEqual(h.pusher.traceIds(), new Set(ids));
    assert.equal(h.pusher.spanCount(), 6);
    // The payload reached the receiver in full but crossed the wire compressed.
    assert.ok(h.pusher.batches.reduce((n, b) => n + b.byteSize, 0) > 2 * payload);
    assert.ok(proxy.bytesIn() < payload / 4, `sent ${proxy.bytesIn()} bytes`);
  } finally {
    await proxy.close();
    await h.receiver.close();
  }
});

test('grpc: multitenancy takes the tenant from x-scope-orgid and requires it', async () => {
  const h = await start({ multitenancy: true });
  try {
    const metadata = new Metadata();
    metadata.set('X-Scope-OrgID', 'acme');
    const ids = await sendWithExporter(h, { metadata });
    assert.deepEqual(h.pusher.traceIds(), new Set(ids));
    for (const b of h.pusher.batches) assert.equal(b.tenant, 'acme');

    const body = encodeRequest(await makeSpans(1, 1));
    const missing = await rawExport(h.receiver.port, body);
    assert.equal(missing.err?.code, status.UNAUTHENTICATED);
    assert.match(missing.err?.details ?? '', /no org id/);

    const bad = new Metadata();
    bad.set('x-scope-orgid', '../etc');
    const invalid = await rawExport(h.receiver.port, body, bad);
    assert.equal(invalid.err?.code, status.INVALID_ARGUMENT);
    assert.equal(h.pusher.spanCount(), 20);
  } finally {
    await h.receiver.close();
  }
});

test('grpc: a raw request gets the ExportTraceServiceResponse bytes', async () => {
  const h = await start();
  try {
    const spans = await makeSpans(3, 2);
    const { err, response } = await rawExport(h.receiver.port, encodeRequest(spans));
    assert.equal(err, null);
    assert.deepEqual(response, Buffer.from(encodeExportResponse(0, '')));
    assert.deepEqual(h.pusher.traceIds(), new Set(spans.map((s) => s.spanContext().traceId)));
  } finally {
    await h.receiver.close();
  }
});

test('grpc: malformed protobuf is INVALID_ARGUMENT and the receiver keeps serving', async () => {
  const h = await start();
  try {
    const { err } = await rawExport(h.receiver.port, GARBAGE);
    assert.equal(err?.code, status.INVALID_ARGUMENT);
    assert.ok((err?.details ?? '').length > 0);
    assert.equal(h.pusher.batches.length, 0);
    await assertStillServing(h);
  } finally {
    await h.receiver.close();
  }
});

test('grpc: messages over maxRecvBytes, plain or as a gzip bomb, are RESOURCE_EXHAUSTED', async () => {
  const h = await start({ maxRecvBytes: 64 << 10 });
  try {
    const plain = await rawExport(h.receiver.port, Buffer.alloc(100 << 10));
    assert.equal(plain.err?.code, status.RESOURCE_EXHAUSTED);

    // 32 MiB of zeros compresses to ~32 KB on the wire, under the limit; only its inflated size is over.
    const bomb = await rawExport(h.receiver.port, Buffer.alloc(32 << 20), new Metadata(), {
      'grpc.default_compression_algorithm': 2, // gzip
    });
    assert.equal(bomb.err?.code, status.RESOURCE_EXHAUSTED);
    assert.equal(h.pusher.batches.length, 0);
    await assertStillServing(h);
  } finally {
    await h.receiver.close();
  }
});

test('grpc: push failures map onto status codes', async () => {
  const h = await start();
  try {
    const body = encodeRequest(await makeSpans(1, 1));
    const cases: Array<[Error, status, boolean]> = [
      [new PushError('invalid', 'bad span'), status.INVALID_ARGUMENT, false],
      [new PushError('too_large', 'trace too large'), status.RESOURCE_EXHAUSTED, false],
      [new PushError('rate_limited', 'ingestion rate limit exceeded'), status.RESOURCE_EXHAUSTED, true],
      [new PushError('unavailable', 'ingester not ready'), status.UNAVAILABLE, false],
      [new Error('disk on fire /var/tempo/wal'), status.INTERNAL, false],
    ];
    for (const [failure, code, retryInfo] of cases) {
      h.pusher.failure = failure;
      const { err } = await rawExport(h.receiver.port, body);
      assert.equal(err?.code, code, failure.message);
      if (code === status.INTERNAL) assert.equal(err?.details, 'internal error');
      else assert.equal(err?.details, failure.message);
      const details = err?.metadata.get('grpc-status-details-bin') ?? [];
      assert.equal(details.length > 0, retryInfo, `RetryInfo for ${failure.message}`);
      if (retryInfo) assert.match(String(details[0]), /google\.rpc\.RetryInfo/);
      h.pusher.failure = undefined;
      await assertStillServing(h);
    }
    assert.equal(h.logged.length, 1, 'only the internal error is logged');
  } finally {
    await h.receiver.close();
  }
});

test('grpc: an empty request is accepted without a push; close is idempotent', async () => {
  const h = await start();
  const { err } = await rawExport(h.receiver.port, Buffer.alloc(0));
  assert.equal(err, null);
  assert.equal(h.pusher.batches.length, 0);
  await Promise.all([h.receiver.close(), h.receiver.close()]);
});
