/**
 * Minimal protobuf wire-format reader and writer, shaped for the OTLP hot path: the reader works on
 * offsets into one buffer (no sub-reader objects) and every read is bounds-checked so hostile input
 * can only ever raise OtlpDecodeError.
 */
import { OtlpDecodeError } from './errors.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const TWO_POW_32 = 4294967296;

// Little-endian scratch for reading doubles without a DataView per buffer (protobuf is little-endian, as is every platform Node runs on).
const SCRATCH_F64 = new Float64Array(1);
const SCRATCH_BYTES = new Uint8Array(SCRATCH_F64.buffer);

const WIRE_NAMES = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32', 'invalid(6)', 'invalid(7)'];

/** Human name of a wire type for error messages. */
export function wireTypeName(wireType: number): string {
  return WIRE_NAMES[wireType & 7] ?? String(wireType);
}

/**
 * Cursor over an encoded message. `pos` is public so callers can jump over nested messages they have
 * already walked (set `pos = end`) without another bounds check.
 */
export class WireReader {
  readonly buf: Uint8Array;
  pos: number;
  /** Exclusive end of the readable region. */
  end: number;
  /**
   * High 32 bits of the last varint64Halves() call, kept as a signed int32: a value above 2^31 would be
   * stored as a heap number and change this class's field representation, deoptimizing every reader.
   */
  private hi: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    if (start < 0 || end > buf.length || start > end) throw new OtlpDecodeError(`invalid range [${start}, ${end}) of a ${buf.length}-byte buffer`);
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.hi = 0;
  }

  eof(): boolean {
    return this.pos >= this.end;
  }

  /** Reads a field tag; returns `fieldNumber << 3 | wireType` after validating both parts. */
  tag(): number {
    const t = this.varint32();
    // A tag of 0 (field 0) is never valid and is also what zero padding / garbage tends to look like.
    if (t >>> 3 === 0) throw new OtlpDecodeError(`invalid field number 0 at offset ${this.pos - 1}`);
    const wt = t & 7;
    if (wt === 3 || wt === 4 || wt > 5) throw new OtlpDecodeError(`unsupported wire type ${wireTypeName(wt)} at offset ${this.pos - 1}`);
    return t;
  }

  /** Reads a varint and returns its low 32 bits as an unsigned number (upper bits are read and dropped). */
  varint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    if (pos < end) {
      const b = buf[pos]!;
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw new OtlpDecodeError(`truncated varint at offset ${this.pos}`);
      const b = buf[pos++]!;
      if (shift < 32) result |= (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) {
        this.pos = pos;
        return result >>> 0;
      }
    }
    throw new OtlpDecodeError(`varint longer than 10 bytes at offset ${this.pos}`);
  }

  /** Reads a varint as a non-negative double (exact up to 2^53); int64 negatives come out as large unsigned values. */
  varintNumber(): number {
    const lo = this.varint64Halves();
    return (this.hi >>> 0) * TWO_POW_32 + lo;
  }

  /** Reads a varint as a signed 64-bit bigint (int64 semantics). */
  varintInt64(): bigint {
    const lo = this.varint64Halves();
    return BigInt.asIntN(64, (BigInt(this.hi >>> 0) << 32n) | BigInt(lo));
  }

  /** Reads a varint as an unsigned 64-bit bigint (uint64 semantics). */
  varintUint64(): bigint {
    const lo = this.varint64Halves();
    return (BigInt(this.hi >>> 0) << 32n) | BigInt(lo);
  }

  /** Reads a varint as a bool (any non-zero value is true, as protobuf decoders do). */
  bool(): boolean {
    const lo = this.varint64Halves();
    return lo !== 0 || this.hi !== 0;
  }

  /** High 32 bits (unsigned) of the varint last read by varint64Halves(). */
  get lastHigh(): number {
    return this.hi >>> 0;
  }

  /** Reads a varint into two unsigned 32-bit halves: returns the low half; the high half is `lastHigh`. */
  varint64Halves(): number {
    const buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw new OtlpDecodeError(`truncated varint at offset ${this.pos}`);
      const b = buf[pos++]!;
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi = bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (b < 0x80) {
        this.pos = pos;
        this.hi = hi | 0;
        return lo >>> 0;
      }
    }
    throw new OtlpDecodeError(`varint longer than 10 bytes at offset ${this.pos}`);
  }

  fixed32(): number {
    const p = this.pos;
    if (p + 4 > this.end) throw new OtlpDecodeError(`truncated fixed32 at offset ${p}`);
    const b = this.buf;
    this.pos = p + 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }

  /** Reads a fixed64 as a non-negative double (exact up to 2^53). */
  fixed64Number(): number {
    const p = this.pos;
    if (p + 8 > this.end) throw new OtlpDecodeError(`truncated fixed64 at offset ${p}`);
    const b = this.buf;
    this.pos = p + 8;
    const lo = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
    const hi = (b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24)) >>> 0;
    return hi * TWO_POW_32 + lo;
  }

  /** Reads a fixed64 as an unsigned bigint. */
  fixed64(): bigint {
    const p = this.pos;
    if (p + 8 > this.end) throw new OtlpDecodeError(`truncated fixed64 at offset ${p}`);
    const b = this.buf;
    this.pos = p + 8;
    const lo = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
    const hi = (b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24)) >>> 0;
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  double(): number {
    const p = this.pos;
    if (p + 8 > this.end) throw new OtlpDecodeError(`truncated double at offset ${p}`);
    const b = this.buf;
    for (let i = 0; i < 8; i++) SCRATCH_BYTES[i] = b[p + i]!;
    this.pos = p + 8;
    return SCRATCH_F64[0]!;
  }

  /**
   * Reads the length prefix of a length-delimited field and returns the end offset of its content;
   * `pos` is left at the content start.
   */
  lenEnd(): number {
    const at = this.pos;
    const len = this.varint64Halves();
    if (this.hi !== 0) throw new OtlpDecodeError(`length at offset ${at} is too large`);
    const end = this.pos + len;
    if (end > this.end) throw new OtlpDecodeError(`length ${len} at offset ${this.pos} runs past the end of its message (${this.end - this.pos} bytes left)`);
    return end;
  }

  /** Reads a length-delimited field as a view (no copy). */
  bytes(): Uint8Array {
    const end = this.lenEnd();
    const start = this.pos;
    this.pos = end;
    return this.buf.subarray(start, end);
  }

  /** Reads a length-delimited field as a copy. */
  bytesCopy(): Uint8Array {
    const end = this.lenEnd();
    const start = this.pos;
    this.pos = end;
    return this.buf.slice(start, end);
  }

  string(): string {
    const end = this.lenEnd();
    const start = this.pos;
    this.pos = end;
    return utf8Decode(this.buf, start, end);
  }

  /** Skips the value of a field whose tag was just read. */
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint32();
        return;
      case WIRE_FIXED64:
        if (this.pos + 8 > this.end) throw new OtlpDecodeError(`truncated fixed64 at offset ${this.pos}`);
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.lenEnd();
        return;
      case WIRE_FIXED32:
        if (this.pos + 4 > this.end) throw new OtlpDecodeError(`truncated fixed32 at offset ${this.pos}`);
        this.pos += 4;
        return;
      default:
        throw new OtlpDecodeError(`unsupported wire type ${wireTypeName(wireType)} at offset ${this.pos}`);
    }
  }
}

const textDecoder = new TextDecoder('utf-8');

/** Decodes UTF-8; short ASCII strings (most attribute keys and values) skip TextDecoder's call overhead. */
export function utf8Decode(buf: Uint8Array, start: number, end: number): string {
  const len = end - start;
  if (len === 0) return '';
  if (len <= 24) {
    let s = '';
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (c >= 0x80) return textDecoder.decode(buf.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return textDecoder.decode(buf.subarray(start, end));
}

const textEncoder = new TextEncoder();

/** Number of bytes `n` takes as a varint (n a non-negative integer below 2^53). */
export function varintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let size = 5;
  let v = Math.floor(n / 0x800000000);
  while (v > 0) {
    size++;
    v = Math.floor(v / 128);
  }
  return size;
}

/**
 * Growable protobuf writer. Nested messages are written in place: `beginMessage` reserves one byte for
 * the length and `endMessage` widens it (moving the content) only when the message outgrew 127 bytes.
 */
export class WireWriter {
  buf: Uint8Array;
  pos: number;
  private view: DataView;

  constructor(initialSize = 1024) {
    this.buf = new Uint8Array(Math.max(16, initialSize));
    this.pos = 0;
    this.view = new DataView(this.buf.buffer);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  tag(field: number, wireType: number): void {
    this.varint(((field << 3) | wireType) >>> 0);
  }

  /** Writes a non-negative integer (below 2^53) as a varint. */
  varint(n: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    if (n < 0x80) {
      buf[pos++] = n;
    } else {
      let lo = n >>> 0;
      let hi = Math.floor(n / TWO_POW_32);
      while (hi > 0 || lo >= 0x80) {
        buf[pos++] = (lo & 0x7f) | 0x80;
        lo = ((lo >>> 7) | (hi << 25)) >>> 0;
        hi = hi >>> 7;
      }
      buf[pos++] = lo;
    }
    this.pos = pos;
  }

  /** Writes a 64-bit integer (signed values as two's complement, i.e. int64 encoding) as a varint. */
  varint64(v: bigint): void {
    const u = BigInt.asUintN(64, v);
    let lo = Number(u & 0xffffffffn);
    let hi = Number(u >> 32n);
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    while (hi > 0 || lo >= 0x80) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi = hi >>> 7;
    }
    buf[pos++] = lo;
    this.pos = pos;
  }

  fixed32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
  }

  /** Writes an unsigned 64-bit bigint as fixed64. */
  fixed64(v: bigint): void {
    this.ensure(8);
    this.view.setBigUint64(this.pos, BigInt.asUintN(64, v), true);
    this.pos += 8;
  }

  /** Writes a non-negative integer double (below 2^64) as fixed64. */
  fixed64Number(v: number): void {
    this.ensure(8);
    this.view.setUint32(this.pos, v >>> 0, true);
    this.view.setUint32(this.pos + 4, Math.floor(v / TWO_POW_32) >>> 0, true);
    this.pos += 8;
  }

  double(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** Writes raw bytes with no tag or length. */
  raw(data: Uint8Array): void {
    this.ensure(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  /** Writes a length-delimited bytes field. */
  bytesField(field: number, data: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.varint(data.length);
    this.raw(data);
  }

  /** Writes a length-delimited string field. */
  stringField(field: number, s: string): void {
    this.tag(field, WIRE_LEN);
    this.string(s);
  }

  /** Writes a length-prefixed UTF-8 string (no tag). */
  string(s: string): void {
    const n = s.length;
    // Fast path: short ASCII strings are encoded inline without TextEncoder.
    if (n < 0x80) {
      this.ensure(1 + n * 3);
      const buf = this.buf;
      const lenPos = this.pos;
      let pos = lenPos + 1;
      let ascii = true;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        buf[pos++] = c;
      }
      if (ascii) {
        buf[lenPos] = n;
        this.pos = pos;
        return;
      }
    }
    // Worst case 3 bytes per UTF-16 unit; reserve the length varint for that, then shrink if needed.
    const maxLen = n * 3;
    const reserve = varintSize(maxLen);
    this.ensure(reserve + maxLen);
    const start = this.pos + reserve;
    const { written } = textEncoder.encodeInto(s, this.buf.subarray(start, start + maxLen));
    const actual = varintSize(written);
    if (actual !== reserve) this.buf.copyWithin(this.pos + actual, start, start + written);
    this.varint(written);
    this.pos += written;
  }

  /** Writes the tag of a nested message and reserves its length; pass the result to `endMessage`. */
  beginMessage(field: number): number {
    this.tag(field, WIRE_LEN);
    this.ensure(1);
    const mark = this.pos;
    this.pos = mark + 1;
    return mark;
  }

  /** Fills in the length of the message started at `mark`. */
  endMessage(mark: number): void {
    const contentStart = mark + 1;
    const len = this.pos - contentStart;
    if (len < 0x80) {
      this.buf[mark] = len;
      return;
    }
    const size = varintSize(len);
    this.ensure(size - 1);
    this.buf.copyWithin(mark + size, contentStart, this.pos);
    const save = this.pos;
    this.pos = mark;
    this.varint(len);
    this.pos = save + size - 1;
  }

  /** The written bytes (a view of the internal buffer, valid until the next write). */
  written(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** The written bytes as an exact-size copy. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}
