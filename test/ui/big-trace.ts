// Builds one very large trace (root → batches → items) with the OpenTelemetry SDK, recorded in
// memory, for the web UI's 50,000-span rendering check.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** 1 root + `batches` batch spans + `batches × items` item spans, in two services. */
export async function recordBigTrace(batches: number, items: number): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const providers = ['bulk-api', 'bulk-worker'].map(
    (service) => new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': service }), spanProcessors: [new SimpleSpanProcessor(memory)] }),
  );
  const api = providers[0]?.getTracer('big') ?? trace.getTracer('none');
  const worker = providers[1]?.getTracer('big') ?? trace.getTracer('none');
  const t0 = Date.now() - 5_000;
  const root = api.startSpan('POST /import', { kind: SpanKind.SERVER, startTime: t0 });
  const rootCtx = trace.setSpan(ROOT_CONTEXT, root);
  for (let b = 0; b < batches; b++) {
    const bStart = t0 + b * 10;
    const batch = worker.startSpan(`batch ${b}`, { kind: SpanKind.CONSUMER, startTime: bStart, attributes: { 'batch.index': b } }, rootCtx);
    const bCtx = trace.setSpan(rootCtx, batch);
    for (let i = 0; i < items; i++) {
      const s = worker.startSpan('write item', { startTime: bStart + (i % 10), attributes: { 'item.index': i } }, bCtx);
      if (b === batches - 1 && i === items - 1) s.setStatus({ code: SpanStatusCode.ERROR, message: 'last item failed' });
      s.end(bStart + (i % 10) + 1);
    }
    batch.end(bStart + 12);
  }
  root.end(t0 + batches * 10 + 20);
  for (const p of providers) await p.forceFlush();
  return memory.getFinishedSpans();
}
