/**
 * The generator's view of a span: the handful of fields span metrics and service graphs need, read
 * straight from the encoded OTLP bytes the batch still carries. Attributes are matched by their key
 * bytes against the few keys the processors asked for, so no string or object is made for the others.
 */
import { OtlpDecodeError } from '../otlp/errors.js';
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
  /** Offsets of the span name's UTF-8 bytes in `buf`; the string is made only when asked for. */
  nameStart = 0;
  nameEnd = 0;
  private nameCache: string | null = null;
  kind = 0;
  statusCode = 0;
  statusMessageStart = 0;
  statusMessageEnd = 0;
  /** Offsets of the span / parent span ID bytes in `buf` (length 0 when absent). */
  buf: Uint8Array = new Uint8Array(0);
  spanIdStart = 0;
  spanIdLen = 0;
  parentIdStart = 0;
  parentIdLen = 0;
  /** First four bytes of the trace ID as an unsigned int (a cheap hash input). */
  traceIdLow = 0;
  /** The span ID as two unsigned ints (0, 0 when absent or not 8 bytes). */
  spanIdLow = 0;
  spanIdHigh = 0;
  parentIdLow = 0;
  parentIdHigh = 0;
  /** Values of the wanted attributes by index into WantedKeys.names; undefined when the span lacks one. */
  readonly attrs: (string | undefined)[];

  constructor(wanted: WantedKeys) {
    this.attrs = new Array<string | undefined>(wanted.names.length).fill(undefined);
  }

  /** The span name (decoded on first use for this span). */
  get name(): string {
    this.nameCache ??= utf8Decode(this.buf, this.nameStart, this.nameEnd);
    return this.nameCache;
  }

  get statusMessage(): string {
    return this.statusMessageEnd > this.statusMessageStart ? utf8Decode(this.buf, this.statusMessageStart, this.statusMessageEnd) : '';
  }

  /** Forgets the decoded name; the reader calls it for each new span. */
  resetName(): void {
    this.nameCache = null;
  }

  spanIdHex(): string {
    return hexAt(this.buf, this.spanIdStart, this.spanIdLen);
  }

  parentIdHex(): string {
    return this.parentIdLen === 0 ? '' : hexAt(this.buf, this.parentIdStart, this.parentIdLen);
  }
}

/** Every span kind reads the wanted attributes. */
export const ATTRS_ALL_KINDS = 0xff;

/**
 * Fills `out` from an encoded Span message. Throws OtlpDecodeError on malformed bytes.
 * `attrKinds`: bit k set when spans of kind k need their wanted attributes; attributes that come after
 * a kind without its bit are not looked at (kind, field 6, precedes attributes, field 9, in encoders).
 */
export function readSpanFields(span: Uint8Array, wanted: WantedKeys, out: SpanFields, attrKinds = ATTRS_ALL_KINDS): void {
  out.resetName();
  out.nameStart = 0;
  out.nameEnd = 0;
  out.traceIdLow = 0;
  out.spanIdLow = 0;
  out.spanIdHigh = 0;
  out.parentIdLow = 0;
  out.parentIdHigh = 0;
  out.kind = 0;
  out.statusCode = 0;
  out.statusMessageStart = 0;
  out.statusMessageEnd = 0;
  out.buf = span;
  out.spanIdLen = 0;
  out.parentIdLen = 0;
  if (wanted.names.length > 0) out.attrs.fill(undefined);
  // A hand-rolled walk of the top level (every Span field number fits a one-byte tag); this runs for
  // every span pushed, and the generic reader's per-call checks and object cost a third of the time.
  const b = span;
  const n = b.length;
  let pos = 0;
  let readAttrs = wanted.names.length > 0;
  while (pos < n) {
    const tag = b[pos++]!;
    if (tag >= 0x80 || tag < 8) {
      skipRest(b, pos - 1);
      return;
    }
    const wt = tag & 7;
    if (wt === 2) {
      if (pos >= n) throw new OtlpDecodeError(`truncated length at offset ${pos} of a span`);
      let len = b[pos++]!;
      if (len >= 0x80) {
        // longer than 127 bytes (events, long names): the general loop
        len &= 0x7f;
        let mul = 128;
        let byte: number;
        do {
          if (pos >= n || mul > 2 ** 28) throw new OtlpDecodeError(`bad length at offset ${pos} of a span`);
          byte = b[pos++]!;
          len += (byte & 0x7f) * mul;
          mul *= 128;
        } while (byte >= 0x80);
      }
      const start = pos;
      const end = pos + len;
      if (end > n) throw new OtlpDecodeError(`length ${len} at offset ${start} runs past the end of a span`);
      switch (tag >>> 3) {
        case 1:
          if (len >= 4) out.traceIdLow = u32(b, start);
          break;
        case 2:
          out.spanIdStart = start;
          out.spanIdLen = len;
          if (len === 8) {
            out.spanIdLow = u32(b, start);
            out.spanIdHigh = u32(b, start + 4);
          }
          break;
        case 4:
          out.parentIdStart = start;
          out.parentIdLen = len;
          if (len === 8) {
            out.parentIdLow = u32(b, start);
            out.parentIdHigh = u32(b, start + 4);
          }
          break;
        case 5:
          out.nameStart = start;
          out.nameEnd = end;
          break;
        case 9:
          // KeyValue: key (field 1) comes first in every encoder we know; others take the careful path.
          if (readAttrs) {
            if (b[start] === 0x0a && start + 1 < end && b[start + 1]! < 0x80) {
              const kEnd = start + 2 + b[start + 1]!;
              if (kEnd <= end && wanted.indexOf(b, start + 2, kEnd) >= 0) readWantedAttribute(new WireReader(b, start, end), end, wanted, out.attrs);
            } else {
              readWantedAttribute(new WireReader(b, start, end), end, wanted, out.attrs);
            }
          }
          break;
        case 15:
          readStatus(b, start, end, out);
          break;
      }
      pos = end;
    } else if (wt === 0) {
      let v = 0;
      let mul = 1;
      let byte: number;
      do {
        if (pos >= n || mul > 2 ** 63) throw new OtlpDecodeError(`truncated varint at offset ${pos} of a span`);
        byte = b[pos++]!;
        if (mul < 2 ** 32) v += (byte & 0x7f) * mul;
        mul *= 128;
      } while (byte >= 0x80);
      if (tag >>> 3 === 6) {
        out.kind = v;
        readAttrs = wanted.names.length > 0 && (v >= 8 || ((attrKinds >>> v) & 1) !== 0);
      }
    } else if (wt === 1) {
      pos += 8;
    } else if (wt === 5) {
      pos += 4;
    } else {
      throw new OtlpDecodeError(`unsupported wire type ${wt} at offset ${pos - 1} of a span`);
    }
  }
  if (pos > n) throw new OtlpDecodeError('truncated fixed-width field at the end of a span');
}

/** Field tags beyond one byte are not Span fields: check the rest is well formed and ignore it. */
function skipRest(b: Uint8Array, pos: number): void {
  const r = new WireReader(b, pos);
  while (!r.eof()) r.skip(r.tag() & 7);
}

function readStatus(b: Uint8Array, start: number, end: number, out: SpanFields): void {
  const r = new WireReader(b, start, end);
  while (!r.eof()) {
    const st = r.tag();
    if (st === 3 << 3) out.statusCode = r.varint32();
    else if (st === ((2 << 3) | WIRE_LEN)) {
      const e = r.lenEnd();
      out.statusMessageStart = r.pos;
      out.statusMessageEnd = e;
      r.pos = e;
    } else r.skip(st & 7);
  }
}

function u32(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
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
