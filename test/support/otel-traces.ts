import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Link } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as HttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as HttpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';

export type ExporterKind = 'grpc' | 'grpc-gzip' | 'http-proto' | 'http-json' | 'http-proto-gzip';

export interface Endpoints {
  readonly grpcPort: number;
  readonly otlpHttpPort: number;
}

/** A real OpenTelemetry SDK exporter of the given kind, pointed at a rubato. */
export function makeExporter(kind: ExporterKind, ep: Endpoints): SpanExporter {
  const grpcUrl = `http://127.0.0.1:${ep.grpcPort}`;
  const httpUrl = `http://127.0.0.1:${ep.otlpHttpPort}/v1/traces`;
  switch (kind) {
    case 'grpc':
      return new GrpcExporter({ url: grpcUrl });
    case 'grpc-gzip':
      return new GrpcExporter({ url: grpcUrl, compression: CompressionAlgorithm.GZIP });
    case 'http-proto':
      return new HttpProtoExporter({ url: httpUrl });
    case 'http-proto-gzip':
      return new HttpProtoExporter({ url: httpUrl, compression: CompressionAlgorithm.GZIP });
    case 'http-json':
      return new HttpJsonExporter({ url: httpUrl });
  }
}

/**
 * Builds `count` traces of a checkout flow — nested server/client/internal spans with string, int,
 * double, bool and array attributes, events, a link and an error status — exports them through the
 * exporter, and returns the spans as the SDK recorded them (what rubato must give back).
 */
export async function sendTraces(exporter: SpanExporter, count: number, service = 'checkout'): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'deployment.environment': 'test', 'host.cores': 2 }),
    spanProcessors: [new SimpleSpanProcessor(exporter), new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('rubato-it', '1.2.3');
  let previous: Link | undefined;
  for (let i = 0; i < count; i++) {
    const rootAttrs: Attributes = {
      'http.method': 'POST',
      'http.route': '/checkout',
      'http.status_code': 500,
      'order.ratio': 0.25 + i,
      'order.cached': i % 2 === 0,
      'order.tags': ['a', 'b', `n${i}`],
      'order.ids': [1, 2, 3],
    };
    const root = tracer.startSpan('POST /checkout', { kind: SpanKind.SERVER, attributes: rootAttrs, links: previous ? [previous] : [] });
    const rootCtx = trace.setSpan(ROOT_CONTEXT, root);
    const db = tracer.startSpan('SELECT orders', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql', 'db.rows': 7 } }, rootCtx);
    db.addEvent('query.start', { 'db.statement.len': 42 });
    db.end();
    const work = tracer.startSpan('price order', { kind: SpanKind.INTERNAL }, rootCtx);
    const workCtx = trace.setSpan(rootCtx, work);
    const pay = tracer.startSpan('charge card', { kind: SpanKind.CLIENT, attributes: { 'peer.service': 'payments' } }, workCtx);
    pay.recordException(new Error('card declined'));
    pay.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
    pay.end();
    work.end();
    root.setStatus({ code: SpanStatusCode.ERROR });
    root.end();
    previous = { context: root.spanContext(), attributes: { 'link.reason': 'retry-of' } };
  }
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

/** Spans of `count` checkout traces, recorded but not sent anywhere. */
export async function recordTraces(count: number, service = 'checkout'): Promise<ReadableSpan[]> {
  return sendTraces(new InMemorySpanExporter(), count, service);
}

/** Spans grouped by trace ID, in first-seen order. */
export function byTrace(spans: readonly ReadableSpan[]): ReadableSpan[][] {
  const groups = new Map<string, ReadableSpan[]>();
  for (const s of spans) {
    const id = s.spanContext().traceId;
    const g = groups.get(id) ?? [];
    g.push(s);
    groups.set(id, g);
  }
  return [...groups.values()];
}

/** Exports spans through the exporter; true when the server acknowledged them. */
export function exportSpans(exporter: SpanExporter, spans: ReadableSpan[]): Promise<boolean> {
  return new Promise((resolve) => exporter.export(spans, (r) => resolve(r.code === 0)));
}

/** Trace IDs of the spans, unique, in first-seen order. */
export function traceIdsOf(spans: readonly ReadableSpan[]): string[] {
  return [...new Set(spans.map((s) => s.spanContext().traceId))];
}
