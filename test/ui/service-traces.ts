/**
 * Client/server traces for the service map and RED panels in the browser test, under service names
 * of their own (storefront, basket) so the search test's counts of checkout traces stay exact.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

/**
 * `count` traces: storefront SERVER "GET /" → storefront CLIENT "GET /basket" → basket SERVER
 * "GET /basket" (ERROR on even i) → basket CLIENT "SELECT items" (db.name=items, a virtual node).
 */
export async function sendServiceTraces(exporterFor: (service: string) => SpanExporter, count: number): Promise<string[]> {
  const provider = (service: string) =>
    new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service }),
      spanProcessors: [new SimpleSpanProcessor(exporterFor(service))],
    });
  const sp = provider('storefront');
  const bp = provider('basket');
  const st = sp.getTracer('ui-test');
  const bt = bp.getTracer('ui-test');
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const base = Date.now() - 2000 + i * 10;
    const at = (ms: number) => new Date(base + ms);
    const root = st.startSpan('GET /', { kind: SpanKind.SERVER, startTime: at(0) }, ROOT_CONTEXT);
    ids.push(root.spanContext().traceId);
    const call = st.startSpan('GET /basket', { kind: SpanKind.CLIENT, startTime: at(5) }, trace.setSpan(ROOT_CONTEXT, root));
    const server = bt.startSpan('GET /basket', { kind: SpanKind.SERVER, startTime: at(10) }, trace.setSpan(ROOT_CONTEXT, call));
    const db = bt.startSpan(
      'SELECT items',
      { kind: SpanKind.CLIENT, startTime: at(15), attributes: { 'db.system': 'postgresql', 'db.name': 'items' } },
      trace.setSpan(ROOT_CONTEXT, server),
    );
    db.end(at(15 + 5 * (i + 1)));
    if (i % 2 === 0) server.setStatus({ code: SpanStatusCode.ERROR, message: 'basket lost' });
    server.end(at(40 + 10 * i));
    call.end(at(45 + 10 * i));
    root.end(at(50 + 10 * i));
  }
  await Promise.all([sp.forceFlush(), bp.forceFlush()]);
  await Promise.all([sp.shutdown(), bp.shutdown()]);
  return ids;
}
