import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { Client, credentials, status as grpcStatus } from '@grpc/grpc-js';
import { startRubato, type RubatoProcess } from '../support/rubato-process.js';
import { byTrace, exportSpans, makeExporter, recordTraces } from '../support/otel-traces.js';
import { assertTraceComplete } from '../support/fetch-trace.js';

let rubato: RubatoProcess;
let accepted: Awaited<ReturnType<typeof recordTraces>>[] = [];

before(async () => {
  rubato = await startRubato();
  await rubato.waitReady();
  // Data accepted before the abuse must survive it.
  const exporter = makeExporter('http-json', rubato);
  accepted = byTrace(await recordTraces(3, 'before-abuse'));
  for (const t of accepted) assert.ok(await exportSpans(exporter, t));
  await exporter.shutdown();
});
after(async () => {
  await rubato.stop();
  rubato.cleanup();
});

const post = (body: Uint8Array | string, headers: Record<string, string>) =>
  fetch(`http://127.0.0.1:${rubato.otlpHttpPort}/v1/traces`, { method: 'POST', body, headers });

test('OTLP/HTTP: garbage, wrong types, bad JSON, oversize bodies and gzip bombs get clear 4xx answers', async () => {
  const garbage = await post(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]), { 'content-type': 'application/x-protobuf' });
  assert.equal(garbage.status, 400);
  assert.ok((await garbage.arrayBuffer()).byteLength > 0, 'a Status body explains');

  const wrongType = await post('hello', { 'content-type': 'text/plain' });
  assert.equal(wrongType.status, 415);

  const badJson = await post('{"resourceSpans": [', { 'content-type': 'application/json' });
  assert.equal(badJson.status, 400);
  assert.match(await badJson.text(), /json|unexpected|parse/i);

  const wrongShape = await post('{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz"}]}]}]}', { 'content-type': 'application/json' });
  assert.equal(wrongShape.status, 400);

  // Above the OTLP/HTTP receiver's max_request_body_size (the Collector's default, 20 MiB).
  const oversize = await post(new Uint8Array(21 * 1024 * 1024), { 'content-type': 'application/x-protobuf' });
  assert.equal(oversize.status, 413);

  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
  const bombed = await post(bomb, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' });
  assert.equal(bombed.status, 413);
});

test('OTLP/gRPC: garbage is INVALID_ARGUMENT, oversize is RESOURCE_EXHAUSTED', async () => {
  const client = new Client(`127.0.0.1:${rubato.grpcPort}`, credentials.createInsecure());
  const call = (body: Buffer) =>
    new Promise<number>((resolve) => {
      client.makeUnaryRequest(
        '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        (err) => resolve(err === null ? grpcStatus.OK : (err.code ?? grpcStatus.UNKNOWN)),
      );
    });
  assert.equal(await call(Buffer.from([0x0a, 0x05, 0x12, 0x7f, 0x00])), grpcStatus.INVALID_ARGUMENT);
  assert.equal(await call(Buffer.alloc(6 * 1024 * 1024, 0x41)), grpcStatus.RESOURCE_EXHAUSTED);
  client.close();
});

test('the server keeps serving and lost nothing it had accepted', async () => {
  assert.equal((await fetch(`${rubato.url}/ready`)).status, 200);
  for (const t of accepted) await assertTraceComplete(rubato, t);
  const exporter = makeExporter('grpc', rubato);
  const later = byTrace(await recordTraces(2, 'after-abuse'));
  for (const t of later) assert.ok(await exportSpans(exporter, t));
  await exporter.shutdown();
  for (const t of later) await assertTraceComplete(rubato, t);
});
