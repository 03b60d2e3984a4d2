/**
 * Test/bench-only: deterministic synthetic traces, encoded as tempopb.Trace with a tiny protobuf writer
 * (field numbers from opentelemetry/proto/trace/v1). Two services per trace, a span tree, every
 * attribute type, events, links and error statuses, so the block columns all get exercised.
 */
import type { TraceRecord } from '../../src/model/trace-record.js';

class Pb {
  private parts: Uint8Array[] = [];
  private size = 0;
  private push(b: Uint8Array): this {
    this.parts.push(b);
    this.size += b.byteLength;
    return this;
  }
  private varint(n: bigint | number): this {
    if (typeof n === 'number' && n >= 0 && n < 0x10000000) {
      const out: number[] = [];
      while (n >= 0x80) {
        out.push((n & 0x7f) | 0x80);
        n >>>= 7;
      }
      out.push(n);
      return this.push(Uint8Array.from(out));
    }
    let v = BigInt.asUintN(64, BigInt(n));
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    return this.push(Uint8Array.from(out));
  }
  private tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  uint(field: number, n: bigint | number): this {
    return this.tag(field, 0).varint(n);
  }
  fixed64(field: number, n: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(n);
    return this.tag(field, 1).push(b);
  }
  double(field: number, n: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(n);
    return this.tag(field, 1).push(b);
  }
  bytes(field: number, b: Uint8Array): this {
    return this.tag(field, 2).varint(b.byteLength).push(b);
  }
  str(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }
  msg(field: number, m: Pb): this {
    return this.bytes(field, m.finish());
  }
  finish(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.parts, this.size));
  }
}

type Val = string | number | bigint | boolean | Val[];

function anyValue(v: Val): Pb {
  const p = new Pb();
  if (typeof v === 'string') p.str(1, v);
  else if (typeof v === 'boolean') p.uint(2, v ? 1 : 0);
  else if (typeof v === 'bigint') p.uint(3, v);
  else if (typeof v === 'number') p.double(4, v);
  else {
    const arr = new Pb();
    for (const x of v) arr.msg(1, anyValue(x));
    p.msg(5, arr);
  }
  return p;
}

function kv(key: string, v: Val): Pb {
  return new Pb().str(1, key).msg(2, anyValue(v));
}

/** Small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randHex(r: () => number, bytes: number): string {
  let s = '';
  for (let i = 0; i < bytes; i++)
    s += Math.floor(r() * 256)
      .toString(16)
      .padStart(2, '0');
  return s;
}

export interface SyntheticOptions {
  traces: number;
  spansPerTrace: number;
  seed: number;
  /** Start of the first trace, ns since epoch; default 2026-01-01. */
  startNs?: bigint;
  /** Trace IDs to use instead of random ones (same count as traces). */
  traceIds?: readonly string[];
}

const SERVICES = ['frontend', 'checkout', 'cart', 'payment', 'shipping'];
const ROUTES = ['/api/users/:id', '/api/cart', '/checkout', '/health'];

/** One encoded trace with the given ID; spans alternate between two services. */
export function syntheticTrace(traceId: string, spans: number, r: () => number, startNs: bigint): Uint8Array {
  const tid = Buffer.from(traceId, 'hex');
  const svc = [SERVICES[Math.floor(r() * SERVICES.length)]!, SERVICES[Math.floor(r() * SERVICES.length)]!];
  const spanIds: Buffer[] = [];
  const bySvc: Pb[][] = [[], []];
  for (let i = 0; i < spans; i++) {
    const sid = Buffer.from(randHex(r, 8), 'hex');
    spanIds.push(sid);
    const parent = i === 0 ? null : spanIds[Math.floor(r() * i)]!;
    const start = startNs + BigInt(i) * 1_000_000n + BigInt(Math.floor(r() * 1000));
    const dur = BigInt(1_000 + Math.floor(r() * 50_000_000));
    const sp = new Pb().bytes(1, tid).bytes(2, sid);
    if (parent) sp.bytes(4, parent);
    sp.str(5, i === 0 ? 'GET /' : `op-${Math.floor(r() * 20)}`)
      .uint(6, i === 0 ? 2 : 1 + Math.floor(r() * 3))
      .fixed64(7, start)
      .fixed64(8, start + dur)
      .msg(9, kv('http.method', r() < 0.5 ? 'GET' : 'POST'))
      .msg(9, kv('http.route', ROUTES[Math.floor(r() * ROUTES.length)]!))
      .msg(9, kv('http.status_code', BigInt(r() < 0.9 ? 200 : 500)))
      .msg(9, kv('retry.ratio', r()))
      .msg(9, kv('cache.hit', r() < 0.5))
      .msg(9, kv('user.id', `u-${Math.floor(r() * 100000)}`));
    if (i % 3 === 1) sp.msg(9, kv('db.system', 'postgresql')).msg(9, kv('db.name', 'shop'));
    if (i % 5 === 0) sp.msg(9, kv('tags', ['a', 'b', BigInt(7)]));
    if (i % 4 === 2)
      sp.msg(
        11,
        new Pb()
          .fixed64(1, start + 10n)
          .str(2, 'exception')
          .msg(3, kv('exception.type', 'Boom')),
      );
    if (i % 7 === 3) sp.msg(13, new Pb().bytes(1, tid).bytes(2, spanIds[0]!));
    const err = r() < 0.05;
    sp.msg(15, new Pb().str(2, err ? 'boom' : '').uint(3, err ? 2 : 0));
    bySvc[i % 2 === 0 ? 0 : 1]!.push(sp);
  }
  const trace = new Pb();
  bySvc.forEach((list, si) => {
    if (list.length === 0) return;
    const res = new Pb()
      .msg(1, kv('service.name', svc[si]!))
      .msg(1, kv('k8s.namespace.name', 'prod'))
      .msg(1, kv('k8s.pod.name', `${svc[si]!}-7d9f-${si}`));
    const scope = new Pb().msg(1, new Pb().str(1, 'synthetic').str(2, '1.0.0'));
    for (const sp of list) scope.msg(2, sp);
    trace.msg(1, new Pb().msg(1, res).msg(2, scope));
  });
  return trace.finish();
}

/** Traces sorted by ID, as writeBlock wants them. */
export function syntheticTraces(opts: SyntheticOptions): TraceRecord[] {
  const r = rng(opts.seed);
  const base = opts.startNs ?? 1_767_225_600_000_000_000n;
  const ids = opts.traceIds ? [...opts.traceIds] : Array.from({ length: opts.traces }, () => randHex(r, 16));
  const uniq = [...new Set(ids)].sort();
  return uniq.map((traceId, i) => ({
    traceId,
    trace: syntheticTrace(traceId, opts.spansPerTrace, r, base + BigInt(i) * 10_000_000n),
  }));
}
