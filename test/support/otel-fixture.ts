/**
 * Test-only: builds real ReadableSpans with the OpenTelemetry SDK (two resources, two scopes, nested
 * parents, every attribute type, events, links, an error status) so tests check against what real
 * exporters send. Deterministic: IDs come from a counter-seeded generator and times are explicit.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Link } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { IdGenerator, ReadableSpan } from '@opentelemetry/sdk-trace-base';

class CountingIds implements IdGenerator {
  private n: number;
  constructor(seed: number) {
    this.n = seed * 1000;
  }
  generateTraceId(): string {
    this.n++;
    return (this.n.toString(16).padStart(8, '0') + 'abcdef01').repeat(2);
  }
  generateSpanId(): string {
    this.n++;
    return this.n.toString(16).padStart(8, '0') + '5a5a5a5a';
  }
}

const T0 = 1_700_000_000;

function makeSpans(service: string, seed: number): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'k8s.namespace.name': 'prod', 'host.cpu.count': 4 }),
    idGenerator: new CountingIds(seed),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const http = provider.getTracer('http-lib', '1.2.3');
  const db = provider.getTracer('db-lib');
  const attrs: Attributes = {
    'http.method': 'GET',
    'http.route': '/api/users/:id',
    'http.status_code': 200,
    'retry.ratio': 0.25,
    'cache.hit': true,
    tags: ['a', 'b', 'ünïcödé'],
    ports: [80, 443],
    weights: [1.5, 2.5],
    flags: [true, false],
    big: 9007199254740991,
    negative: -42,
    'long.text': 'x'.repeat(300),
  };
  for (let t = 0; t < 3; t++) {
    const root = http.startSpan(`GET /users ${t}`, { kind: SpanKind.SERVER, attributes: attrs, startTime: [T0 + t, 123456789] }, ROOT_CONTEXT);
    const rootCtx = trace.setSpan(ROOT_CONTEXT, root);
    const child = http.startSpan('auth', { kind: SpanKind.CLIENT, startTime: [T0 + t, 200000000] }, rootCtx);
    child.addEvent('token.checked', { 'token.kind': 'jwt', attempt: 1 }, [T0 + t, 210000001]);
    child.addEvent('empty-event', undefined, [T0 + t, 210000002]);
    child.end([T0 + t, 250000000]);
    const link: Link = { context: child.spanContext(), attributes: { 'link.reason': 'retry', 'link.n': 7 } };
    const grandchild = db.startSpan(
      'SELECT users',
      { kind: SpanKind.INTERNAL, attributes: { 'db.system': 'postgresql' }, links: [link], startTime: [T0 + t, 300000000] },
      trace.setSpan(rootCtx, child),
    );
    grandchild.setStatus({ code: SpanStatusCode.ERROR, message: 'connection reset' });
    const err = new Error('boom');
    err.stack = 'Error: boom\n    at fixture (fixture.ts:1:1)'; // fixed so repeated fixtures are equal
    grandchild.recordException(err, [T0 + t, 310000000]);
    grandchild.end([T0 + t, 350000000]);
    const producer = db.startSpan('publish', { kind: SpanKind.PRODUCER, startTime: [T0 + t, 360000000] }, rootCtx);
    producer.setStatus({ code: SpanStatusCode.OK });
    producer.end([T0 + t, 370000000]);
    root.end([T0 + t, 999999999]);
  }
  return exporter.getFinishedSpans();
}

/** 24 spans from two services (two resources), two scopes each, in three traces per service. */
export function fixtureSpans(): ReadableSpan[] {
  return [...makeSpans('frontend', 1), ...makeSpans('users-db', 2)];
}

/** nanoseconds since the epoch of an HrTime. */
export function hrToNs(t: readonly [number, number]): bigint {
  return BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
}
