/** Shared by the receiver tests: a recording Pusher, span factories and a gzip bomb. Not used at run time. */
import { createConnection, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { context, trace } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ACCEPTED_ALL, type Pusher, type PushResult } from '../../src/model/pusher.js';
import type { PushBatch } from '../../src/model/batch.js';

/** Records every batch; rejects with `failure` while it is set. */
export class RecordingPusher implements Pusher {
  readonly batches: PushBatch[] = [];
  failure: Error | undefined;
  /** What push answers (partial success) once the batch is recorded. */
  result: PushResult = ACCEPTED_ALL;

  push(batch: PushBatch): Promise<PushResult> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    this.batches.push(batch);
    return Promise.resolve(this.result);
  }

  traceIds(): Set<string> {
    return new Set(this.batches.flatMap((b) => b.spans.map((s) => s.traceId)));
  }

  spanCount(): number {
    return this.batches.reduce((n, b) => n + b.spans.length, 0);
  }
}

type ExportResultCallback = Parameters<SpanExporter['export']>[1];
type ExportResult = Parameters<ExportResultCallback>[0];

/** Wraps a real exporter to keep the result of each export (code 0 = success). */
export class ResultRecordingExporter implements SpanExporter {
  readonly results: ExportResult[] = [];
  constructor(private readonly inner: SpanExporter) {}

  export(spans: ReadableSpan[], resultCallback: ExportResultCallback): void {
    this.inner.export(spans, (result) => {
      this.results.push(result);
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/**
 * Makes `traces` traces of `spansPerTrace` spans (a root and its children) through a BasicTracerProvider
 * exporting to `exporter`, flushes, and returns the trace IDs. Each root carries a `payloadBytes`-long
 * compressible attribute, to tell compressed uploads from plain ones.
 */
export async function exportTraces(exporter: SpanExporter, traces: number, spansPerTrace: number, payloadBytes = 0): Promise<string[]> {
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
  const tracer = provider.getTracer('rubato-receiver-test');
  const ids: string[] = [];
  for (let t = 0; t < traces; t++) {
    const root = tracer.startSpan(`root-${t}`, { attributes: { 'test.trace': t, 'test.payload': 'x'.repeat(payloadBytes) } });
    ids.push(root.spanContext().traceId);
    const parent = { ...root.spanContext() };
    for (let s = 1; s < spansPerTrace; s++) {
      const ctxWithParent = trace.setSpanContext(context.active(), parent);
      tracer.startSpan(`child-${t}-${s}`, {}, ctxWithParent).end();
    }
    root.end();
  }
  await provider.forceFlush();
  await provider.shutdown();
  return ids;
}

/** Spans captured in memory, for building raw requests. */
export async function makeSpans(traces: number, spansPerTrace: number): Promise<ReadableSpan[]> {
  const spans: ReadableSpan[] = [];
  const capture: SpanExporter = {
    export: (batch, done) => {
      spans.push(...batch);
      done({ code: 0 });
    },
    shutdown: () => Promise.resolve(),
  };
  await exportTraces(capture, traces, spansPerTrace);
  return spans;
}

/** A valid ExportTraceServiceRequest as the OTel SDK encodes it. */
export function encodeRequest(spans: ReadableSpan[]): Buffer {
  const bytes = ProtobufTraceSerializer.serializeRequest(spans);
  if (bytes === undefined) throw new Error('serializer returned nothing');
  return Buffer.from(bytes);
}

/**
 * About 1 GiB of zeros as a ~1 MB gzip body. Built as 128 identical gzip members (RFC 1952 allows a
 * stream of members; gunzip reads them all) so building it takes milliseconds rather than deflating 1 GiB.
 */
export function gzipBomb(): Buffer {
  const member = gzipSync(Buffer.alloc(8 << 20), { level: 9 });
  return Buffer.concat(Array.from({ length: 128 }, () => member));
}

/** A TCP pass-through that counts the bytes clients send, to check an exporter really compresses. */
export interface CountingProxy {
  readonly port: number;
  bytesIn(): number;
  close(): Promise<void>;
}

export async function startCountingProxy(targetPort: number): Promise<CountingProxy> {
  let bytes = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    client.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    bytesIn: () => bytes,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
