/**
 * Deterministic synthetic OTLP traffic for benchmarks: ExportTraceServiceRequest bytes with realistic
 * spans (~370 encoded bytes each) — nested parents, service.name per resource, HTTP and DB attributes,
 * some error statuses and events. Same options and seed always give the same bytes.
 */
import { WireWriter } from '../../src/otlp/wire.js';

export interface GenerateOptions {
  readonly traces: number;
  readonly spansPerTrace: number;
  /** PRNG seed; default 1. */
  readonly seed?: number;
  /** Start of the first trace; default 2026-01-01T00:00:00Z. */
  readonly startUnixNano?: bigint;
  /** Service names, one resource each; default five made-up services. */
  readonly services?: readonly string[];
}

const DEFAULT_SERVICES = ['frontend', 'checkout', 'cart', 'payments', 'inventory'];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
const ROUTES = ['/api/v1/users/{id}', '/api/v1/orders', '/api/v1/cart/{cartId}/items', '/healthz', '/api/v2/products/{sku}', '/api/v1/payments/{id}/capture'];
const DB_SYSTEMS = ['postgresql', 'redis', 'mysql', 'mongodb'];
const DB_OPS = ['SELECT', 'INSERT', 'UPDATE', 'GET', 'SET'];

/** mulberry32: small, fast, good enough for test data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface GenSpan {
  readonly service: number;
  readonly traceId: Uint8Array;
  readonly spanId: Uint8Array;
  readonly parentSpanId: Uint8Array | undefined;
  readonly name: string;
  readonly kind: number;
  readonly start: bigint;
  readonly end: bigint;
  readonly method: string;
  readonly route: string;
  readonly statusCode: number;
  readonly db: string | undefined;
  readonly error: boolean;
  readonly event: boolean;
}

function randomBytes(rnd: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
  if (b.every((x) => x === 0)) b[0] = 1;
  return b;
}

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

function writeStringAttr(w: WireWriter, field: number, key: string, value: string): void {
  const kv = w.beginMessage(field);
  w.stringField(1, key);
  const v = w.beginMessage(2);
  w.stringField(1, value);
  w.endMessage(v);
  w.endMessage(kv);
}

function writeIntAttr(w: WireWriter, field: number, key: string, value: number): void {
  const kv = w.beginMessage(field);
  w.stringField(1, key);
  const v = w.beginMessage(2);
  w.tag(3, 0);
  w.varint(value);
  w.endMessage(v);
  w.endMessage(kv);
}

function writeSpan(w: WireWriter, s: GenSpan): void {
  const m = w.beginMessage(2);
  w.bytesField(1, s.traceId);
  w.bytesField(2, s.spanId);
  if (s.parentSpanId !== undefined) w.bytesField(4, s.parentSpanId);
  w.stringField(5, s.name);
  w.tag(6, 0);
  w.varint(s.kind);
  w.tag(7, 1);
  w.fixed64(s.start);
  w.tag(8, 1);
  w.fixed64(s.end);
  writeStringAttr(w, 9, 'http.method', s.method);
  writeStringAttr(w, 9, 'http.route', s.route);
  writeIntAttr(w, 9, 'http.status_code', s.statusCode);
  writeStringAttr(w, 9, 'http.url', `https://shop.example.com${s.route.replace(/\{[^}]+\}/g, '4711')}?ref=bench`);
  writeStringAttr(w, 9, 'http.user_agent', 'Mozilla/5.0 (X11; Linux) bench/1.0');
  writeStringAttr(w, 9, 'net.peer.name', `${s.db ?? 'api'}.internal.svc.cluster.local`);
  if (s.db !== undefined) {
    writeStringAttr(w, 9, 'db.system', s.db);
    writeStringAttr(w, 9, 'db.statement', `${s.name.split(' ')[0]!} * FROM items WHERE id = ?`);
  }
  if (s.event) {
    const e = w.beginMessage(11);
    w.tag(1, 1);
    w.fixed64(s.start + 1000n);
    w.stringField(2, s.error ? 'exception' : 'cache.miss');
    writeStringAttr(w, 3, s.error ? 'exception.type' : 'cache.key', s.error ? 'TimeoutError' : 'user:4711');
    w.endMessage(e);
  }
  const st = w.beginMessage(15);
  if (s.error) {
    w.stringField(2, 'upstream request timed out');
    w.tag(3, 0);
    w.varint(2);
  }
  w.endMessage(st);
  w.endMessage(m);
}

/** Builds one ExportTraceServiceRequest; see GenerateOptions. */
export function generateExportRequest(opts: GenerateOptions): Uint8Array {
  const rnd = prng(opts.seed ?? 1);
  const services = opts.services ?? DEFAULT_SERVICES;
  let t0 = opts.startUnixNano ?? 1_767_225_600_000_000_000n;
  const spans: GenSpan[] = [];
  for (let t = 0; t < opts.traces; t++) {
    const traceId = randomBytes(rnd, 16);
    const ids: Uint8Array[] = [];
    const rootService = Math.floor(rnd() * services.length);
    t0 += BigInt(Math.floor(rnd() * 50_000_000));
    for (let i = 0; i < opts.spansPerTrace; i++) {
      const spanId = randomBytes(rnd, 8);
      // Each span's parent is an earlier span, biased to recent ones: a mix of deep and wide trees.
      const parent = i === 0 ? undefined : ids[Math.max(0, i - 1 - Math.floor(rnd() * Math.min(i, 3)))];
      ids.push(spanId);
      const service = i === 0 ? rootService : Math.floor(rnd() * services.length);
      const isDb = i > 0 && rnd() < 0.3;
      const error = rnd() < 0.05;
      const method = pick(rnd, METHODS);
      const route = pick(rnd, ROUTES);
      const start = t0 + BigInt(i * 1_000_000 + Math.floor(rnd() * 500_000));
      const dur = BigInt(100_000 + Math.floor(rnd() * 200_000_000));
      spans.push({
        service,
        traceId,
        spanId,
        parentSpanId: parent,
        name: isDb ? `${pick(rnd, DB_OPS)} shop.items` : `${method} ${route}`,
        kind: i === 0 ? 2 : isDb ? 3 : pick(rnd, [1, 2, 3]),
        start,
        end: start + dur,
        method,
        route,
        statusCode: error ? 503 : pick(rnd, [200, 200, 200, 201, 204, 404]),
        db: isDb ? pick(rnd, DB_SYSTEMS) : undefined,
        error,
        event: error || rnd() < 0.1,
      });
    }
  }
  const w = new WireWriter(opts.traces * opts.spansPerTrace * 400 + 1024);
  for (let s = 0; s < services.length; s++) {
    const mine = spans.filter((x) => x.service === s);
    if (mine.length === 0) continue;
    const rs = w.beginMessage(1);
    const res = w.beginMessage(1);
    writeStringAttr(w, 1, 'service.name', services[s]!);
    writeStringAttr(w, 1, 'service.version', '1.4.2');
    writeStringAttr(w, 1, 'k8s.namespace.name', 'shop');
    writeStringAttr(w, 1, 'k8s.pod.name', `${services[s]!}-7d9f8c6b5-x2k4p`);
    writeStringAttr(w, 1, 'telemetry.sdk.language', 'nodejs');
    w.endMessage(res);
    const ss = w.beginMessage(2);
    const scope = w.beginMessage(1);
    w.stringField(1, '@opentelemetry/instrumentation-http');
    w.stringField(2, '0.57.0');
    w.endMessage(scope);
    for (const span of mine) writeSpan(w, span);
    w.endMessage(ss);
    w.stringField(3, 'https://opentelemetry.io/schemas/1.24.0');
    w.endMessage(rs);
  }
  return w.finish();
}
