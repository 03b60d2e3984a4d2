/**
 * The known trace set the metrics-generator tests send and then look for in the series: a frontend
 * calling checkout (some calls failing), checkout querying a database and calling an uninstrumented
 * payments service (a virtual node). Each service has its own SDK provider and exporter, as in life.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

export interface KnownSet {
  readonly traces: number;
  /** Traces whose checkout server span failed. */
  readonly failed: number;
  readonly traceIds: string[];
}

/** Traces with index i % 3 === 0 fail in checkout. */
export const failsAt = (i: number): boolean => i % 3 === 0;

/**
 * Sends `count` traces: frontend SERVER "GET /checkout" (120 ms) → frontend CLIENT "POST /api/checkout"
 * (100 ms) → checkout SERVER "POST /api/checkout" (80 ms, ERROR when failsAt(i)) → checkout CLIENT
 * "SELECT orders" (db.system=postgresql, db.name=orders, 10 ms) and checkout CLIENT "charge"
 * (peer.service=payments, 30 ms).
 */
export async function sendKnownSet(exporterFor: (service: string) => SpanExporter, count: number, shutdown = true): Promise<KnownSet> {
  const provider = (service: string) =>
    new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service, 'deployment.environment': 'test' }),
      spanProcessors: [new SimpleSpanProcessor(exporterFor(service))],
    });
  const fp = provider('frontend');
  const cp = provider('checkout');
  const ft = fp.getTracer('known-set');
  const ct = cp.getTracer('known-set');
  const traceIds: string[] = [];
  let failed = 0;
  const base = Date.now() - 1000;
  const at = (ms: number) => new Date(base + ms);
  for (let i = 0; i < count; i++) {
    const root = ft.startSpan('GET /checkout', { kind: SpanKind.SERVER, startTime: at(0) }, ROOT_CONTEXT);
    traceIds.push(root.spanContext().traceId);
    const call = ft.startSpan('POST /api/checkout', { kind: SpanKind.CLIENT, startTime: at(10) }, trace.setSpan(ROOT_CONTEXT, root));
    const server = ct.startSpan('POST /api/checkout', { kind: SpanKind.SERVER, startTime: at(20) }, trace.setSpan(ROOT_CONTEXT, call));
    const sctx = trace.setSpan(ROOT_CONTEXT, server);
    const db = ct.startSpan(
      'SELECT orders',
      { kind: SpanKind.CLIENT, startTime: at(30), attributes: { 'db.system': 'postgresql', 'db.name': 'orders' } },
      sctx,
    );
    db.end(at(40));
    const pay = ct.startSpan('charge', { kind: SpanKind.CLIENT, startTime: at(50), attributes: { 'peer.service': 'payments' } }, sctx);
    pay.end(at(80));
    if (failsAt(i)) {
      server.setStatus({ code: SpanStatusCode.ERROR, message: 'out of stock' });
      failed++;
    }
    server.end(at(100));
    call.end(at(110));
    root.end(at(120));
  }
  await Promise.all([fp.forceFlush(), cp.forceFlush()]);
  // (An in-memory exporter forgets its spans on shutdown.)
  if (shutdown) await Promise.all([fp.shutdown(), cp.shutdown()]);
  return { traces: count, failed, traceIds };
}
