/**
 * The generator's view of a span: the handful of fields span metrics and service graphs need, read
 * straight from the encoded OTLP bytes the batch still carries. Attributes are matched by their key
 * bytes against the few keys the processors asked for, so no string or object is made for the others.
 */
import { WIRE_LEN, WireReader, utf8Decode } from '../otlp/wire.js';
import { hexAt } from '../otlp/scan.js';

/** Attribute keys the processors want, pre-encoded for byte comparison. */
export class WantedKeys {
  readonly names: readonly string[];
  private readonly encoded: Uint8Array[];

  constructor(names: Iterable<string>) {
    this.names = [...new Set(names)];
    const enc = new TextEncoder();
    this.encoded = this.names.map((n) => enc.encode(n));
  }

  /** Index of the key at buf[start, end) in `names`, or -1. */
  indexOf(buf: Uint8Array, start: number, end: number): number {
    const len = end - start;
    const keys = this.encoded;
    outer: for (let k = 0; k < keys.length; k++) {
      const key = keys[k]!;
      if (key.length !== len) continue;
      for (let i = 0; i < len; i++) if (key[i] !== buf[start + i]) continue outer;
      return k;
    }
    return -1;
  }
}

/** One mutable instance is reused for every span; read it before decoding the next span. */
export class SpanFields {
  name = '';
  kind = 0;
  statusCode = 0;
  statusMessage = '';
  /** Offsets of the span / parent span ID bytes in `buf` (length 0 when absent). */
  buf: Uint8Array = new Uint8Array(0);
  spanIdStart = 0;
  spanIdLen = 0;
  parentIdStart = 0;
  parentIdLen = 0;
  /** Values of the wanted attributes by index into WantedKeys.names; undefined when the span lacks one. */
  readonly attrs: (string | undefined)[];

  constructor(wanted: WantedKeys) {
    this.attrs = new Array<string | undefined>(wanted.names.length).fill(undefined);
  }

  spanIdHex(): string {
    return hexAt(this.buf, this.spanIdStart, this.spanIdLen);
  }

  parentIdHex(): string {
    return this.parentIdLen === 0 ? '' : hexAt(this.buf, this.parentIdStart, this.parentIdLen);
  }
}

/** Fills `out` from an encoded Span message. Throws OtlpDecodeError on malformed bytes. */
export function readSpanFields(span: Uint8Array, wanted: WantedKeys, out: SpanFields): void {
  out.name = '';
  out.kind = 0;
  out.statusCode = 0;
  out.statusMessage = '';
  out.buf = span;
  out.spanIdLen = 0;
  out.parentIdLen = 0;
  out.attrs.fill(undefined);
  const r = new WireReader(span);
  while (!r.eof()) {
    const t = r.tag();
    switch (t) {
      case (2 << 3) | WIRE_LEN: {
        const end = r.lenEnd();
        out.spanIdStart = r.pos;
        out.spanIdLen = end - r.pos;
        r.pos = end;
        break;
      }
      case (4 << 3) | WIRE_LEN: {
        const end = r.lenEnd();
        out.parentIdStart = r.pos;
        out.parentIdLen = end - r.pos;
        r.pos = end;
        break;
      }
      case (5 << 3) | WIRE_LEN:
        out.name = r.string();
        break;
      case 6 << 3:
        out.kind = r.varint32();
        break;
      case (9 << 3) | WIRE_LEN: {
        const end = r.lenEnd();
        if (wanted.names.length > 0) readWantedAttribute(r, end, wanted, out.attrs);
        r.pos = end;
        break;
      }
      case (15 << 3) | WIRE_LEN: {
        const end = r.lenEnd();
        const outer = r.end;
        r.end = end;
        while (!r.eof()) {
          const st = r.tag();
          if (st === 3 << 3) out.statusCode = r.varint32();
          else if (st === ((2 << 3) | WIRE_LEN)) out.statusMessage = r.string();
          else r.skip(st & 7);
        }
        r.end = outer;
        break;
      }
      default:
        r.skip(t & 7);
    }
  }
}

/** Reads one KeyValue (reader positioned at its content) and stores its value when the key is wanted. */
function readWantedAttribute(r: WireReader, end: number, wanted: WantedKeys, attrs: (string | undefined)[]): void {
  const outer = r.end;
  r.end = end;
  let index = -1;
  while (!r.eof()) {
    const t = r.tag();
    if (t === ((1 << 3) | WIRE_LEN)) {
      const kEnd = r.lenEnd();
      index = wanted.indexOf(r.buf, r.pos, kEnd);
      r.pos = kEnd;
      if (index < 0) break;
    } else if (t === ((2 << 3) | WIRE_LEN) && index >= 0) {
      const vEnd = r.lenEnd();
      const value = anyValueString(r, vEnd);
      r.pos = vEnd;
      if (value !== undefined) attrs[index] = value;
    } else {
      r.skip(t & 7);
    }
  }
  r.end = outer;
}

/** An AnyValue as label text: strings as they are, scalars printed; lists and maps are skipped. */
function anyValueString(r: WireReader, end: number): string | undefined {
  const outer = r.end;
  r.end = end;
  let out: string | undefined;
  while (!r.eof()) {
    const t = r.tag();
    switch (t) {
      case (1 << 3) | WIRE_LEN: {
        const e = r.lenEnd();
        out = utf8Decode(r.buf, r.pos, e);
        r.pos = e;
        break;
      }
      case 2 << 3:
        out = r.bool() ? 'true' : 'false';
        break;
      case 3 << 3:
        out = r.varintInt64().toString();
        break;
      case (4 << 3) | 1:
        out = String(r.double());
        break;
      default:
        r.skip(t & 7);
    }
  }
  r.end = outer;
  return out;
}

/** All attributes of an encoded ResourceSpans (without scope_spans) as strings, in order. */
export function readResourceAttributes(resourceSpans: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  const r = new WireReader(resourceSpans);
  while (!r.eof()) {
    const t = r.tag();
    if (t !== ((1 << 3) | WIRE_LEN)) {
      r.skip(t & 7);
      continue;
    }
    const resEnd = r.lenEnd();
    const outer = r.end;
    r.end = resEnd;
    while (!r.eof()) {
      const rt = r.tag();
      if (rt !== ((1 << 3) | WIRE_LEN)) {
        r.skip(rt & 7);
        continue;
      }
      const kvEnd = r.lenEnd();
      const kvOuter = r.end;
      r.end = kvEnd;
      let key: string | undefined;
      let value: string | undefined;
      while (!r.eof()) {
        const kt = r.tag();
        if (kt === ((1 << 3) | WIRE_LEN)) key = r.string();
        else if (kt === ((2 << 3) | WIRE_LEN)) {
          const vEnd = r.lenEnd();
          value = anyValueString(r, vEnd);
          r.pos = vEnd;
        } else r.skip(kt & 7);
      }
      r.end = kvOuter;
      if (key !== undefined && value !== undefined) out.set(key, value);
    }
    r.end = outer;
  }
  return out;
}
