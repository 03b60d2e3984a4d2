/**
 * The trace view's fast path: the trace-by-ID answer as protobuf (tempopb.TraceByIDResponse around
 * tempopb.Trace, OTLP's ResourceSpans inside), decoded by hand straight into the UI's span records.
 * The JSON answer of a 50,000-span trace is 3× bigger, costs the server 4–5× more to write and the
 * browser a JSON.parse plus an object per field; here a span costs one small record, and its
 * attributes, events and links are decoded from the bytes only when the span is opened or searched.
 * A general protobuf library would need the .proto schema compiled in and would build every field.
 */
import type { Attr, UiEvent, UiLink, UiSpan } from './trace-model.js';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUS: ReadonlyArray<UiSpan['statusCode']> = ['unset', 'ok', 'error'];
const utf8 = new TextDecoder();
const f64 = new DataView(new ArrayBuffer(8));

export class ProtoError extends Error {}

/** A cursor over one message's bytes; every read checks its bounds so a damaged answer throws, never loops. */
class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): number {
    const b = this.buf;
    let result = 0;
    let mul = 1;
    for (let n = 0; n < 10; n++) {
      if (this.pos >= this.end) throw new ProtoError('truncated varint');
      const x = b[this.pos++] ?? 0;
      // Past 2^53 only lengths of absurd size or int64 values land here; the latter use int64Text.
      result += (x & 0x7f) * mul;
      if (x < 0x80) return result;
      mul *= 128;
    }
    throw new ProtoError('varint too long');
  }

  /** A signed 64-bit varint as decimal text, exact beyond 2^53 (as Tempo's JSON writes intValue). */
  int64Text(): string {
    const start = this.pos;
    let len = 0;
    while (len < 10) {
      if (this.pos >= this.end) throw new ProtoError('truncated varint');
      len++;
      if ((this.buf[this.pos++] ?? 0) < 0x80) break;
    }
    if (len <= 7) {
      let v = 0;
      for (let k = len - 1; k >= 0; k--) v = v * 128 + ((this.buf[start + k] ?? 0) & 0x7f);
      return String(v);
    }
    let v = 0n;
    for (let k = len - 1; k >= 0; k--) v = (v << 7n) | BigInt((this.buf[start + k] ?? 0) & 0x7f);
    return BigInt.asIntN(64, v).toString();
  }

  /** fixed64 nanoseconds as float milliseconds, rounded the same way as nanosToMs on the decimal text. */
  nanosMs(): number {
    const lo = this.u32();
    const hi = this.u32();
    // hi·2^32 = hi·4294·10^6 + hi·967296: both parts stay exact integers below 2^53.
    const rest = hi * 967296 + lo;
    return hi * 4294 + Math.floor(rest / 1e6) + (rest % 1e6) / 1e6;
  }

  u32(): number {
    if (this.pos + 4 > this.end) throw new ProtoError('truncated fixed field');
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p] ?? 0) | ((b[p + 1] ?? 0) << 8) | ((b[p + 2] ?? 0) << 16)) + (b[p + 3] ?? 0) * 0x1000000;
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new ProtoError('truncated double');
    for (let k = 0; k < 8; k++) f64.setUint8(k, this.buf[this.pos + k] ?? 0);
    this.pos += 8;
    return f64.getFloat64(0, true);
  }

  /** Length of the length-delimited field at the cursor; the cursor moves to its first byte. */
  len(): number {
    const n = this.varint();
    if (this.pos + n > this.end) throw new ProtoError('field runs past its message');
    return n;
  }

  string(): string {
    const n = this.len();
    const s = text(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  hex(): string {
    const n = this.len();
    let s = '';
    for (let k = this.pos; k < this.pos + n; k++) s += HEX[this.buf[k] ?? 0] ?? '';
    this.pos += n;
    return s;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) {
      // Not `this.pos += this.len()`: that reads pos before len() moves it past the length varint.
      const n = this.len();
      this.pos += n;
    } else if (wire === 5) this.pos += 4;
    else throw new ProtoError(`unsupported wire type ${wire}`);
    if (this.pos > this.end) throw new ProtoError('field runs past its message');
  }
}

// Short ASCII strings seen before, by a hash of their bytes: a big trace repeats a few span names
// and keys thousands of times, and one string each saves that many allocations.
const INTERN_BITS = 12;
const interned: Array<string | undefined> = new Array<string | undefined>(1 << INTERN_BITS);

/** Short ASCII strings (span names, keys) without a TextDecoder call, interned; anything else through it. */
function text(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n > 64) return utf8.decode(buf.subarray(start, end));
  let h = n;
  for (let k = start; k < end; k++) {
    const c = buf[k] ?? 0;
    if (c >= 0x80) return utf8.decode(buf.subarray(start, end));
    h = Math.imul(h ^ c, 0x01000193);
  }
  const slot = (h >>> (32 - INTERN_BITS)) & ((1 << INTERN_BITS) - 1);
  const seen = interned[slot];
  if (seen !== undefined && seen.length === n) {
    let same = true;
    for (let k = 0; k < n; k++) {
      if (seen.charCodeAt(k) !== buf[start + k]) {
        same = false;
        break;
      }
    }
    if (same) return seen;
  }
  const s = String.fromCharCode.apply(null, Array.from(buf.subarray(start, end)));
  interned[slot] = s;
  return s;
}

function attrsOf(buf: Uint8Array, ranges: number[]): Attr[] {
  const out: Attr[] = [];
  for (let k = 0; k < ranges.length; k += 2) out.push(keyValue(new Reader(buf, ranges[k] ?? 0, ranges[k + 1] ?? 0)));
  return out;
}

function keyValue(r: Reader): Attr {
  let key = '';
  let value = '';
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === 0x0a) key = r.string();
    else if (tag === 0x12) {
      const n = r.len();
      value = anyValueText(new Reader(r.buf, r.pos, r.pos + n));
      r.pos += n;
    } else r.skip(tag & 7);
  }
  return { key, value };
}

/** AnyValue as the UI shows it: as anyValueText does for the JSON answer. */
function anyValueText(r: Reader): string {
  const v = anyValue(r);
  return typeof v === 'string' ? v : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}

type Plain = string | number | boolean | Plain[] | { [k: string]: Plain };

/** Strings stay strings, ints text (exact), doubles and bools themselves, arrays and maps as values. */
function anyValue(r: Reader, nested = false): Plain {
  let out: Plain = '';
  while (r.pos < r.end) {
    const tag = r.varint();
    switch (tag) {
      case 0x0a:
        out = r.string();
        break;
      case 0x10:
        out = r.varint() !== 0;
        break;
      case 0x18: {
        const t = r.int64Text();
        out = nested ? Number(t) : t;
        break;
      }
      case 0x21:
        out = r.double();
        break;
      case 0x2a:
      case 0x32: {
        const n = r.len();
        const sub = new Reader(r.buf, r.pos, r.pos + n);
        r.pos += n;
        if (tag === 0x2a) {
          const list: Plain[] = [];
          while (sub.pos < sub.end) {
            const t = sub.varint();
            if (t === 0x0a) {
              const m = sub.len();
              list.push(anyValue(new Reader(sub.buf, sub.pos, sub.pos + m), true));
              sub.pos += m;
            } else sub.skip(t & 7);
          }
          out = list;
        } else {
          const map: { [k: string]: Plain } = {};
          while (sub.pos < sub.end) {
            const t = sub.varint();
            if (t === 0x0a) {
              const m = sub.len();
              const kv = new Reader(sub.buf, sub.pos, sub.pos + m);
              sub.pos += m;
              let key = '';
              let val: Plain = '';
              while (kv.pos < kv.end) {
                const u = kv.varint();
                if (u === 0x0a) key = kv.string();
                else if (u === 0x12) {
                  const w = kv.len();
                  val = anyValue(new Reader(kv.buf, kv.pos, kv.pos + w), true);
                  kv.pos += w;
                } else kv.skip(u & 7);
              }
              map[key] = val;
            } else sub.skip(t & 7);
          }
          out = map;
        }
        // Inside an array or map, Tempo's JSON path shows a nested array or map as its JSON text.
        if (nested) out = JSON.stringify(out);
        break;
      }
      case 0x3a:
        out = r.hex();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return out;
}

/** Start and end offsets of every length-delimited `field` of the message in [start, end). */
function subMessages(buf: Uint8Array, start: number, end: number, field: number): number[] {
  const out: number[] = [];
  const r = new Reader(buf, start, end);
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === ((field << 3) | 2)) {
      const n = r.len();
      out.push(r.pos, r.pos + n);
      r.pos += n;
    } else r.skip(tag & 7);
  }
  return out;
}

interface Shared {
  readonly service: string;
  readonly resource: readonly Attr[];
  readonly scopeName: string;
  readonly scopeVersion: string;
  readonly scopeAttributes: readonly Attr[];
}

/** Where the hot loop's last read ended (module state: no cursor object per field on the 50,000-span path). */
let after = 0;

function varintAt(b: Uint8Array, p: number, end: number): number {
  let result = 0;
  let mul = 1;
  for (let n = 0; n < 10; n++) {
    if (p >= end) throw new ProtoError('truncated varint');
    const x = b[p++] ?? 0;
    result += (x & 0x7f) * mul;
    if (x < 0x80) {
      after = p;
      return result;
    }
    mul *= 128;
  }
  throw new ProtoError('varint too long');
}

function u32At(b: Uint8Array, p: number): number {
  return ((b[p] ?? 0) | ((b[p + 1] ?? 0) << 8) | ((b[p + 2] ?? 0) << 16)) + (b[p + 3] ?? 0) * 0x1000000;
}

/** fixed64 nanoseconds at p as float milliseconds (see Reader.nanosMs). */
function nanosMsAt(b: Uint8Array, p: number, end: number): number {
  if (p + 8 > end) throw new ProtoError('truncated fixed field');
  const lo = u32At(b, p);
  const hi = u32At(b, p + 4);
  const rest = hi * 967296 + lo;
  return hi * 4294 + Math.floor(rest / 1e6) + (rest % 1e6) / 1e6;
}

/** The fields of a span message the tree and the rows need; the rest stays in the bytes. */
interface SpanHead {
  /** Offset of the 8-byte span ID (-1: absent or not 8 bytes) and its length. */
  idAt: number;
  idLen: number;
  parentAt: number;
  parentLen: number;
  name: string;
  kind: number;
  startMs: number;
  endMs: number;
  code: number;
  message: string;
}

function readSpanHead(b: Uint8Array, start: number, end: number, h: SpanHead): void {
  h.idAt = -1;
  h.idLen = 0;
  h.parentAt = -1;
  h.parentLen = 0;
  h.name = '';
  h.kind = 0;
  h.startMs = 0;
  h.endMs = 0;
  h.code = 0;
  h.message = '';
  let p = start;
  while (p < end) {
    const tag = b[p] ?? 0;
    // Every field the hot path reads has a one-byte tag (field numbers up to 15).
    if (tag >= 0x80) {
      varintAt(b, p, end);
      p = skipField(b, after, end, tag & 7);
      continue;
    }
    p++;
    switch (tag) {
      case 0x12:
      case 0x22:
      case 0x2a: {
        const n = varintAt(b, p, end);
        p = after;
        if (p + n > end) throw new ProtoError('field runs past its message');
        if (tag === 0x12) {
          h.idAt = p;
          h.idLen = n;
        } else if (tag === 0x22) {
          h.parentAt = p;
          h.parentLen = n;
        } else h.name = text(b, p, p + n);
        p += n;
        break;
      }
      case 0x30:
        h.kind = varintAt(b, p, end);
        p = after;
        break;
      case 0x39:
        h.startMs = nanosMsAt(b, p, end);
        p += 8;
        break;
      case 0x41:
        h.endMs = nanosMsAt(b, p, end);
        p += 8;
        break;
      case 0x7a: {
        const n = varintAt(b, p, end);
        p = after;
        const e = p + n;
        if (e > end) throw new ProtoError('field runs past its message');
        while (p < e) {
          const t = varintAt(b, p, e);
          p = after;
          if (t === 0x12) {
            const m = varintAt(b, p, e);
            p = after;
            if (p + m > e) throw new ProtoError('field runs past its message');
            h.message = text(b, p, p + m);
            p += m;
          } else if (t === 0x18) {
            h.code = varintAt(b, p, e);
            p = after;
          } else p = skipField(b, p, e, t & 7);
        }
        break;
      }
      default:
        p = skipField(b, p, end, tag & 7);
    }
  }
}

function skipField(b: Uint8Array, p: number, end: number, wire: number): number {
  let q: number;
  if (wire === 0) {
    varintAt(b, p, end);
    q = after;
  } else if (wire === 1) q = p + 8;
  else if (wire === 2) {
    const n = varintAt(b, p, end);
    q = after + n;
  } else if (wire === 5) q = p + 4;
  else throw new ProtoError(`unsupported wire type ${wire}`);
  if (q > end) throw new ProtoError('field runs past its message');
  return q;
}

function hexAt(b: Uint8Array, at: number, len: number): string {
  let s = '';
  for (let k = at; k < at + len; k++) s += HEX[b[k] ?? 0] ?? '';
  return s;
}

/** One span read from the answer's bytes; IDs as hex, attributes, events and links wait until first asked for. */
class ProtoSpan implements UiSpan {
  readonly name: string;
  readonly kind: string;
  readonly statusCode: UiSpan['statusCode'];
  readonly statusMessage: string;
  parent = -1;
  depth = 0;
  children: number[] = NO_CHILDREN;
  critical = false;
  #ids: [string, string] | undefined;
  #attributes: Attr[] | undefined;
  #events: UiEvent[] | undefined;
  #links: UiLink[] | undefined;

  constructor(
    readonly index: number,
    private readonly store: Store,
    private readonly start: number,
    private readonly end: number,
    private readonly shared: Shared,
    h: SpanHead,
  ) {
    this.name = h.name;
    this.kind = KINDS[h.kind] ?? 'unspecified';
    this.statusCode = STATUS[h.code] ?? 'unset';
    this.statusMessage = h.message;
  }

  // Times live in the decode's Float64Array: a double field would be one more heap object per span.
  get startMs(): number {
    return this.store.times[2 * this.index] ?? 0;
  }
  get endMs(): number {
    return this.store.times[2 * this.index + 1] ?? 0;
  }
  get durationMs(): number {
    return this.endMs - this.startMs;
  }

  private get buf(): Uint8Array {
    return this.store.buf;
  }

  #idPair(): [string, string] {
    if (this.#ids !== undefined) return this.#ids;
    const h = head;
    readSpanHead(this.buf, this.start, this.end, h);
    return (this.#ids = [hexAt(this.buf, h.idAt, h.idLen), hexAt(this.buf, h.parentAt, h.parentLen)]);
  }

  get spanId(): string {
    return this.#idPair()[0];
  }
  get parentSpanId(): string {
    return this.#idPair()[1];
  }

  get service(): string {
    return this.shared.service;
  }
  get resource(): readonly Attr[] {
    return this.shared.resource;
  }
  get scopeName(): string {
    return this.shared.scopeName;
  }
  get scopeVersion(): string {
    return this.shared.scopeVersion;
  }
  get scopeAttributes(): readonly Attr[] {
    return this.shared.scopeAttributes;
  }

  get attributes(): readonly Attr[] {
    return (this.#attributes ??= attrsOf(this.buf, subMessages(this.buf, this.start, this.end, 9)));
  }

  get events(): readonly UiEvent[] {
    if (this.#events !== undefined) return this.#events;
    const ranges = subMessages(this.buf, this.start, this.end, 11);
    const out: UiEvent[] = [];
    for (let k = 0; k < ranges.length; k += 2) {
      const r = new Reader(this.buf, ranges[k] ?? 0, ranges[k + 1] ?? 0);
      let name = '';
      let timeMs = 0;
      const attrs: Attr[] = [];
      while (r.pos < r.end) {
        const tag = r.varint();
        if (tag === 0x09) timeMs = r.nanosMs();
        else if (tag === 0x12) name = r.string();
        else if (tag === 0x1a) {
          const n = r.len();
          attrs.push(keyValue(new Reader(this.buf, r.pos, r.pos + n)));
          r.pos += n;
        } else r.skip(tag & 7);
      }
      out.push({ name, timeMs, attributes: attrs });
    }
    return (this.#events = out);
  }

  get links(): readonly UiLink[] {
    if (this.#links !== undefined) return this.#links;
    const ranges = subMessages(this.buf, this.start, this.end, 13);
    const out: UiLink[] = [];
    for (let k = 0; k < ranges.length; k += 2) {
      const r = new Reader(this.buf, ranges[k] ?? 0, ranges[k + 1] ?? 0);
      let traceId = '';
      let spanId = '';
      const attrs: Attr[] = [];
      while (r.pos < r.end) {
        const tag = r.varint();
        if (tag === 0x0a) traceId = r.hex();
        else if (tag === 0x12) spanId = r.hex();
        else if (tag === 0x22) {
          const n = r.len();
          attrs.push(keyValue(new Reader(this.buf, r.pos, r.pos + n)));
          r.pos += n;
        } else r.skip(tag & 7);
      }
      out.push({ traceId, spanId, attributes: attrs });
    }
    return (this.#links = out);
  }
}

/** What every span of one decoded answer shares: its bytes, and start/end times two per span. */
interface Store {
  readonly buf: Uint8Array;
  times: Float64Array;
}

const NO_CHILDREN: number[] = [];
Object.freeze(NO_CHILDREN);
const head: SpanHead = { idAt: -1, idLen: 0, parentAt: -1, parentLen: 0, name: '', kind: 0, startMs: 0, endMs: 0, code: 0, message: '' };

function grow(a: Uint32Array): Uint32Array {
  const b = new Uint32Array(Math.max(64, a.length * 2));
  b.set(a);
  return b;
}

/** Decoded spans, and each one's parent index when every ID was 8 bytes (-1: no parent, -2: parent not in the trace). */
export interface DecodedTrace {
  readonly spans: UiSpan[];
  readonly parentOf: Int32Array | undefined;
}

/** The spans of a tempopb.Trace (its bytes: repeated ResourceSpans, field 1), in answer order. */
export function decodeTraceSpans(buf: Uint8Array, start = 0, end = buf.length): UiSpan[] {
  return decodeTrace(buf, start, end).spans;
}

/**
 * Decodes the spans and links each to its parent by an open-addressing hash over the 8-byte span IDs
 * held as two 32-bit numbers: no hex string or Map entry per span before first paint.
 */
export function decodeTrace(buf: Uint8Array, start = 0, end = buf.length): DecodedTrace {
  const spans: UiSpan[] = [];
  const store: Store = { buf, times: new Float64Array(Math.min(1 << 20, Math.max(64, (end - start) >> 4))) };
  // Span IDs and parent IDs, two 32-bit halves each.
  let ids: Uint32Array = new Uint32Array(Math.min(1 << 20, Math.max(64, (end - start) >> 4)));
  let parentIds: Uint32Array = new Uint32Array(ids.length);
  const hasParent: boolean[] = [];
  let plain = true;
  const r = new Reader(buf, start, end);
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag !== 0x0a) {
      r.skip(tag & 7);
      continue;
    }
    const n = r.len();
    const rs = new Reader(buf, r.pos, r.pos + n);
    r.pos += n;
    let resource: Attr[] = [];
    const scopes: number[] = [];
    while (rs.pos < rs.end) {
      const t = rs.varint();
      if (t === 0x0a) {
        const m = rs.len();
        resource = attrsOf(buf, subMessages(buf, rs.pos, rs.pos + m, 1));
        rs.pos += m;
      } else if (t === 0x12) {
        const m = rs.len();
        scopes.push(rs.pos, rs.pos + m);
        rs.pos += m;
      } else rs.skip(t & 7);
    }
    const service = resource.find((a) => a.key === 'service.name')?.value ?? '<no service>';
    for (let k = 0; k < scopes.length; k += 2) {
      const from = scopes[k] ?? 0;
      const to = scopes[k + 1] ?? 0;
      // The scope first (encoders write it before the spans, but protobuf does not promise that).
      let shared: Shared = { service, resource, scopeName: '', scopeVersion: '', scopeAttributes: [] };
      for (let k2 = 0, list = subMessages(buf, from, to, 1); k2 < list.length; k2 += 2) {
        const sc = new Reader(buf, list[k2] ?? 0, list[k2 + 1] ?? 0);
        let scopeName = '';
        let scopeVersion = '';
        const scopeAttributes: Attr[] = [];
        while (sc.pos < sc.end) {
          const u = sc.varint();
          if (u === 0x0a) scopeName = sc.string();
          else if (u === 0x12) scopeVersion = sc.string();
          else if (u === 0x1a) {
            const w = sc.len();
            scopeAttributes.push(keyValue(new Reader(buf, sc.pos, sc.pos + w)));
            sc.pos += w;
          } else sc.skip(u & 7);
        }
        shared = { service, resource, scopeName, scopeVersion, scopeAttributes };
      }
      const ss = new Reader(buf, from, to);
      while (ss.pos < ss.end) {
        const t = ss.varint();
        if (t === 0x12) {
          const m = ss.len();
          readSpanHead(buf, ss.pos, ss.pos + m, head);
          const i = spans.length;
          if (i === ids.length / 2) ids = grow(ids);
          if (i === parentIds.length / 2) parentIds = grow(parentIds);
          if (head.idLen === 8) {
            ids[2 * i] = u32At(buf, head.idAt);
            ids[2 * i + 1] = u32At(buf, head.idAt + 4);
          } else plain = false;
          if (head.parentLen === 8) {
            parentIds[2 * i] = u32At(buf, head.parentAt);
            parentIds[2 * i + 1] = u32At(buf, head.parentAt + 4);
          } else if (head.parentLen !== 0) plain = false;
          hasParent.push(head.parentLen !== 0);
          if (2 * i + 1 >= store.times.length) {
            const t = new Float64Array(store.times.length * 2);
            t.set(store.times);
            store.times = t;
          }
          store.times[2 * i] = head.startMs;
          store.times[2 * i + 1] = Math.max(head.startMs, head.endMs);
          spans.push(new ProtoSpan(i, store, ss.pos, ss.pos + m, shared, head));
          ss.pos += m;
        } else ss.skip(t & 7);
      }
    }
  }
  return { spans, parentOf: plain ? parentIndex(spans.length, ids, parentIds, hasParent) : undefined };
}

function parentIndex(n: number, ids: Uint32Array, parentIds: Uint32Array, hasParent: readonly boolean[]): Int32Array {
  let size = 1;
  while (size < n * 2) size <<= 1;
  const mask = size - 1;
  const table = new Int32Array(size).fill(-1);
  const slot = (lo: number, hi: number): number => (Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) >>> 7) & mask;
  for (let i = 0; i < n; i++) {
    const lo = ids[2 * i] ?? 0;
    const hi = ids[2 * i + 1] ?? 0;
    let k = slot(lo, hi);
    for (;;) {
      const j = table[k] ?? -1;
      if (j < 0) {
        table[k] = i;
        break;
      }
      // A repeated span ID: the first one keeps it, as in linkTree.
      if (ids[2 * j] === lo && ids[2 * j + 1] === hi) break;
      k = (k + 1) & mask;
    }
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (hasParent[i] !== true) {
      out[i] = -1;
      continue;
    }
    const lo = parentIds[2 * i] ?? 0;
    const hi = parentIds[2 * i + 1] ?? 0;
    let k = slot(lo, hi);
    let found = -2;
    for (;;) {
      const j = table[k] ?? -1;
      if (j < 0) break;
      if (ids[2 * j] === lo && ids[2 * j + 1] === hi) {
        found = j;
        break;
      }
      k = (k + 1) & mask;
    }
    out[i] = found;
  }
  return out;
}

/** The trace of a tempopb.TraceByIDResponse (GET /api/v2/traces/<id> with Accept: application/protobuf). */
export function decodeTraceByIdResponse(buf: Uint8Array): DecodedTrace {
  const r = new Reader(buf, 0, buf.length);
  let out: DecodedTrace = { spans: [], parentOf: undefined };
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === 0x0a) {
      const n = r.len();
      out = decodeTrace(buf, r.pos, r.pos + n);
      r.pos += n;
    } else r.skip(tag & 7);
  }
  return out;
}
