import { isUtf8 } from 'node:buffer';
import type { FileHandle } from 'node:fs/promises';

/**
 * A minimal uncompressed Parquet writer for the block writer's staging file. Values are copied into
 * per-column byte buffers (strings straight from the protobuf bytes), so staging a row costs no call
 * into DuckDB and no JS string per value; DuckDB then reads the file natively and writes the real,
 * zstd-compressed data.parquet. Only what staging needs is supported: PLAIN values, data page v1,
 * one page per column chunk, flat optional columns and lists (of strings or of a struct of optional fields).
 */

/** Physical types (parquet.thrift Type). */
const T_BOOLEAN = 0;
const T_INT32 = 1;
const T_INT64 = 2;
const T_DOUBLE = 5;
const T_BYTE_ARRAY = 6;

/** ConvertedType values used here. */
const CT_UTF8 = 0;
const CT_LIST = 3;
const CT_UINT_8 = 11;
const CT_UINT_64 = 14;

const REP_REQUIRED = 0;
const REP_OPTIONAL = 1;
const REP_REPEATED = 2;

export type LeafType = 'utf8' | 'blob' | 'u8' | 'i32' | 'u64' | 'i64' | 'f64' | 'bool';

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8');

/** Growable byte buffer. */
export class ByteSink {
  buf: Uint8Array;
  pos = 0;
  constructor(size = 4096) {
    this.buf = new Uint8Array(size);
  }
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  u32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = v;
    b[p + 1] = v >>> 8;
    b[p + 2] = v >>> 16;
    b[p + 3] = v >>> 24;
    this.pos = p + 4;
  }
  bytes(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    if (n < 32) {
      const b = this.buf;
      let p = this.pos;
      for (let i = start; i < end; i++) b[p++] = src[i]!;
    } else this.buf.set(src.subarray(start, end), this.pos);
    this.pos += n;
  }
  varint(v: number): void {
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }
  reset(): void {
    this.pos = 0;
  }
}

/** One leaf column: repetition and definition levels plus the PLAIN values of defined entries. */
export class Leaf {
  readonly rep: ByteSink;
  readonly def: ByteSink;
  readonly values: ByteSink;
  /** Level entries (rows for flat columns). */
  count = 0;
  /** Packed-boolean state. */
  private bitCount = 0;
  constructor(
    readonly name: string,
    readonly type: LeafType,
    readonly maxDef: number,
    readonly maxRep: number,
    size = 16384,
  ) {
    this.rep = new ByteSink(maxRep > 0 ? size : 16);
    this.def = new ByteSink(size);
    this.values = new ByteSink(size);
  }

  /** Appends every entry of another leaf of the same shape (a pre-encoded list reused per row). */
  appendLeaf(src: Leaf): void {
    if (this.maxRep > 0) this.rep.bytes(src.rep.buf, 0, src.rep.pos);
    this.def.bytes(src.def.buf, 0, src.def.pos);
    this.count += src.count;
    if (this.type === 'bool') {
      for (let i = 0; i < src.bitCount; i++) this.bool((src.values.buf[i >>> 3]! & (1 << (i & 7))) !== 0);
    } else this.values.bytes(src.values.buf, 0, src.values.pos);
  }

  /** Records one level entry; the value (if any) goes in with one of the put* methods after it. */
  level(rep: number, def: number): void {
    if (this.maxRep > 0) this.rep.u8(rep);
    const d = this.def;
    if (d.pos >= d.buf.length) d.ensure(1);
    d.buf[d.pos++] = def;
    this.count++;
  }

  /** Lowercase hex of bytes [start, end) as a string value. */
  hex(src: Uint8Array, start: number, end: number): void {
    const n = (end - start) * 2;
    const v = this.values;
    v.u32(n);
    v.ensure(n);
    const b = v.buf;
    let p = v.pos;
    for (let i = start; i < end; i++) {
      const x = src[i]!;
      b[p++] = HEX_DIGITS[x >>> 4]!;
      b[p++] = HEX_DIGITS[x & 15]!;
    }
    v.pos = p;
  }

  /** Appends valid UTF-8 (invalid sequences become U+FFFD, as TextDecoder would read them). */
  utf8(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    const v = this.values;
    v.ensure(4 + n);
    const b = v.buf;
    let p = v.pos + 4;
    if (n < 48) {
      let high = 0;
      for (let i = start; i < end; i++) {
        const c = src[i]!;
        high |= c;
        b[p++] = c;
      }
      if (high < 0x80 || isUtf8(src.subarray(start, end))) {
        v.u32(n);
        v.pos += n;
        return;
      }
    } else if (isUtf8(src.subarray(start, end))) {
      b.set(src.subarray(start, end), p);
      v.u32(n);
      v.pos += n;
      return;
    }
    this.string(textDecoder.decode(src.subarray(start, end)));
  }

  string(s: string): void {
    const v = this.values;
    const max = s.length * 3;
    v.ensure(4 + max);
    const { written } = textEncoder.encodeInto(s, v.buf.subarray(v.pos + 4, v.pos + 4 + max));
    v.u32(written);
    v.pos += written;
  }

  /** Appends an ASCII string given as bytes (no validation). */
  ascii(src: Uint8Array): void {
    this.values.u32(src.length);
    this.values.bytes(src, 0, src.length);
  }

  blob(src: Uint8Array, start: number, end: number): void {
    this.values.u32(end - start);
    this.values.bytes(src, start, end);
  }

  /**
   * Appends a byte value by dictionary: the same object (by identity) is stored once per row group.
   * For values repeated on many rows (resource and scope bytes); do not mix with the other put methods.
   */
  dictBlob(v: Uint8Array): void {
    let d = this.dict;
    if (d === null) d = this.dict = { ids: new Map(), indices: new ByteSink(16384) };
    let id = d.ids.get(v);
    if (id === undefined) {
      id = d.ids.size;
      d.ids.set(v, id);
      this.values.u32(v.length);
      this.values.bytes(v, 0, v.length);
    }
    d.indices.u32(id);
  }

  /** Dictionary state of a dictBlob leaf: index per defined value (u32 LE) and ids by value. */
  dict: { ids: Map<Uint8Array, number>; indices: ByteSink } | null = null;

  i32(x: number): void {
    this.values.u32(x >>> 0);
  }

  /** 64-bit integer from its unsigned 32-bit halves. */
  i64(lo: number, hi: number): void {
    this.values.u32(lo);
    this.values.u32(hi);
  }

  f64(x: number): void {
    SCRATCH_F64[0] = x;
    this.values.bytes(SCRATCH_BYTES, 0, 8);
  }

  bool(x: boolean): void {
    const v = this.values;
    if ((this.bitCount & 7) === 0) v.u8(0);
    if (x) v.buf[v.pos - 1]! |= 1 << (this.bitCount & 7);
    this.bitCount++;
  }

  reset(): void {
    this.rep.reset();
    this.def.reset();
    this.values.reset();
    this.count = 0;
    this.bitCount = 0;
    if (this.dict !== null) {
      this.dict.ids.clear();
      this.dict.indices.reset();
    }
  }
}

/** Dictionary indices (u32 LE each) as bit width byte + one bit-packed run, as RLE_DICTIONARY pages hold them. */
function encodeIndices(out: ByteSink, indices: ByteSink, dictSize: number): void {
  const n = indices.pos / 4;
  const width = Math.max(1, bitWidth(Math.max(0, dictSize - 1)));
  out.u8(width);
  const groups = Math.ceil(n / 8);
  out.varint(groups * 2 + 1);
  out.ensure(groups * width + 8);
  const src = indices.buf;
  const b = out.buf;
  let p = out.pos;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < groups * 8; i++) {
    const v = i < n ? src[i * 4]! | (src[i * 4 + 1]! << 8) | (src[i * 4 + 2]! << 16) : 0;
    // width ≤ 24 (a row group never has 2^24 distinct values), so acc stays below 2^31.
    acc += v * 2 ** bits;
    bits += width;
    while (bits >= 8) {
      b[p++] = acc & 0xff;
      acc = Math.floor(acc / 256);
      bits -= 8;
    }
  }
  out.pos = p;
}

const HEX_DIGITS = Uint8Array.from(Buffer.from('0123456789abcdef', 'latin1'));
const SCRATCH_F64 = new Float64Array(1);
const SCRATCH_BYTES = new Uint8Array(SCRATCH_F64.buffer);

/** A top-level column: a flat optional leaf, a list of strings, or a list of structs. */
export type StageColumn =
  | { kind: 'flat'; name: string; leaf: Leaf }
  | { kind: 'list'; name: string; leaf: Leaf }
  | { kind: 'struct-list'; name: string; leaves: Leaf[] };

/** Flat optional column: def 1 = value, 0 = null. */
export function flatColumn(name: string, type: LeafType): StageColumn {
  return { kind: 'flat', name, leaf: new Leaf(name, type, 1, 0) };
}

/**
 * Required list of required strings: def 0 = empty list, 1 = element; rep 1 = continues the row.
 */
export function stringListColumn(name: string): StageColumn {
  return { kind: 'list', name, leaf: new Leaf(name, 'utf8', 1, 1) };
}

/**
 * Required list of required structs with optional fields: def 0 = empty list, 1 = element with the
 * field null, 2 = field set.
 */
export function structListColumn(name: string, fields: readonly (readonly [string, LeafType])[]): StageColumn {
  return { kind: 'struct-list', name, leaves: fields.map(([n, t]) => new Leaf(n, t, 2, 1)) };
}

function columnLeaves(c: StageColumn): Leaf[] {
  return c.kind === 'struct-list' ? c.leaves : [c.leaf];
}

/** Thrift compact protocol writer (just the parts parquet.thrift metadata needs). */
class Thrift {
  readonly out = new ByteSink(4096);
  private last: number[] = [];
  private lastField = 0;

  private fieldHeader(id: number, type: number): void {
    const delta = id - this.lastField;
    if (delta > 0 && delta <= 15) this.out.u8((delta << 4) | type);
    else {
      this.out.u8(type);
      this.out.varint(zigzag(id));
    }
    this.lastField = id;
  }
  i32(id: number, v: number): void {
    this.fieldHeader(id, 5);
    this.out.varint(zigzag(v));
  }
  i64(id: number, v: number): void {
    this.fieldHeader(id, 6);
    this.out.varint(zigzag(v));
  }
  binary(id: number, s: string): void {
    this.fieldHeader(id, 8);
    this.rawBinary(s);
  }
  private rawBinary(s: string): void {
    const b = textEncoder.encode(s);
    this.out.varint(b.length);
    this.out.bytes(b, 0, b.length);
  }
  beginStruct(id: number): void {
    this.fieldHeader(id, 12);
    this.pushStruct();
  }
  /** Starts a struct element of a list (no field header). */
  pushStruct(): void {
    this.last.push(this.lastField);
    this.lastField = 0;
  }
  endStruct(): void {
    this.out.u8(0);
    this.lastField = this.last.pop() ?? 0;
  }
  listHeader(id: number, elemType: number, size: number): void {
    this.fieldHeader(id, 9);
    if (size < 15) this.out.u8((size << 4) | elemType);
    else {
      this.out.u8(0xf0 | elemType);
      this.out.varint(size);
    }
  }
  i32List(id: number, vs: readonly number[]): void {
    this.listHeader(id, 5, vs.length);
    for (const v of vs) this.out.varint(zigzag(v));
  }
  binaryList(id: number, vs: readonly string[]): void {
    this.listHeader(id, 8, vs.length);
    for (const v of vs) this.rawBinary(v);
  }
}

function zigzag(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

/** Bit width of levels 0..max. */
function bitWidth(max: number): number {
  let w = 0;
  while (1 << w <= max) w++;
  return w;
}

/** Levels as an RLE/bit-packed hybrid run list, prefixed by its 4-byte length. */
function encodeLevels(out: ByteSink, levels: ByteSink, count: number, max: number): void {
  const width = bitWidth(max);
  const lenAt = out.pos;
  out.u32(0);
  const start = out.pos;
  const lv = levels.buf;
  let allSame = true;
  for (let i = 1; i < count; i++) {
    if (lv[i] !== lv[0]) {
      allSame = false;
      break;
    }
  }
  if (allSame) {
    // One RLE run: header count<<1, then the value in ceil(width/8) bytes.
    out.varint(count * 2);
    out.u8(count === 0 ? 0 : lv[0]!);
  } else {
    const groups = Math.ceil(count / 8);
    out.varint(groups * 2 + 1);
    out.ensure(groups * width);
    const b = out.buf;
    let acc = 0;
    let bits = 0;
    let p = out.pos;
    for (let i = 0; i < groups * 8; i++) {
      acc |= (i < count ? lv[i]! : 0) << bits;
      bits += width;
      while (bits >= 8) {
        b[p++] = acc & 0xff;
        acc >>>= 8;
        bits -= 8;
      }
    }
    out.pos = p;
  }
  const len = out.pos - start;
  const save = out.pos;
  out.pos = lenAt;
  out.u32(len);
  out.pos = save;
}

function physical(t: LeafType): number {
  switch (t) {
    case 'utf8':
    case 'blob':
      return T_BYTE_ARRAY;
    case 'u8':
    case 'i32':
      return T_INT32;
    case 'u64':
    case 'i64':
      return T_INT64;
    case 'f64':
      return T_DOUBLE;
    case 'bool':
      return T_BOOLEAN;
  }
}

function converted(t: LeafType): number | null {
  if (t === 'utf8') return CT_UTF8;
  if (t === 'u8') return CT_UINT_8;
  if (t === 'u64') return CT_UINT_64;
  return null;
}

interface ChunkMeta {
  readonly path: string[];
  readonly type: number;
  readonly numValues: number;
  /** Data page offset. */
  readonly offset: number;
  /** Dictionary page offset, or -1. */
  readonly dictOffset: number;
  readonly size: number;
}

/** Writes row groups of the given columns to a file; call `flush` per row group and `finish` once. */
export class StageFileWriter {
  private offset = 0;
  private rows = 0;
  private readonly groups: { rows: number; bytes: number; chunks: ChunkMeta[] }[] = [];
  private readonly page = new ByteSink(1 << 16);
  private readonly header = new Thrift();

  constructor(
    private readonly fh: FileHandle,
    readonly columns: readonly StageColumn[],
  ) {}

  async start(): Promise<void> {
    await this.write(Buffer.from('PAR1'));
  }

  private async write(b: Uint8Array): Promise<void> {
    let done = 0;
    while (done < b.length) {
      const { bytesWritten } = await this.fh.write(b, done, b.length - done, this.offset + done);
      done += bytesWritten;
    }
    this.offset += b.length;
  }

  /** Writes the buffered values as one row group of `rows` rows and clears the columns. */
  async flush(rows: number): Promise<void> {
    if (rows === 0) return;
    const chunks: ChunkMeta[] = [];
    const groupStart = this.offset;
    // Headers and levels are small copies; value buffers go to the file as they are (one writev).
    const parts: Uint8Array[] = [];
    let at = this.offset;
    for (const col of this.columns) {
      for (const leaf of columnLeaves(col)) {
        const h = this.header;
        const chunkStart = at;
        let dictOffset = -1;
        const dict = leaf.dict;
        if (dict !== null) {
          // Dictionary page: the distinct values, PLAIN.
          h.out.reset();
          h.pushStruct();
          h.i32(1, 2); // DICTIONARY_PAGE
          h.i32(2, leaf.values.pos);
          h.i32(3, leaf.values.pos);
          h.beginStruct(7);
          h.i32(1, dict.ids.size);
          h.i32(2, 0); // PLAIN
          h.endStruct();
          h.endStruct();
          dictOffset = at;
          parts.push(h.out.buf.slice(0, h.out.pos), leaf.values.buf.subarray(0, leaf.values.pos));
          at += h.out.pos + leaf.values.pos;
        }
        const levels = this.page;
        levels.reset();
        if (leaf.maxRep > 0) encodeLevels(levels, leaf.rep, leaf.count, leaf.maxRep);
        encodeLevels(levels, leaf.def, leaf.count, leaf.maxDef);
        if (dict !== null) encodeIndices(levels, dict.indices, dict.ids.size);
        const values = dict !== null ? levels.buf.subarray(0, 0) : leaf.values.buf.subarray(0, leaf.values.pos);
        const bodySize = levels.pos + values.length;
        h.out.reset();
        h.pushStruct();
        h.i32(1, 0); // DATA_PAGE
        h.i32(2, bodySize);
        h.i32(3, bodySize);
        h.beginStruct(5);
        h.i32(1, leaf.count);
        h.i32(2, dict !== null ? 8 : 0); // RLE_DICTIONARY or PLAIN
        h.i32(3, 3); // RLE
        h.i32(4, 3);
        h.endStruct();
        h.endStruct();
        const dataOffset = at;
        const headerAndLevels = new Uint8Array(h.out.pos + levels.pos);
        headerAndLevels.set(h.out.buf.subarray(0, h.out.pos), 0);
        headerAndLevels.set(levels.buf.subarray(0, levels.pos), h.out.pos);
        parts.push(headerAndLevels, values);
        at += headerAndLevels.length + values.length;
        const path = col.kind === 'flat' ? [col.name] : col.kind === 'list' ? [col.name, 'list', 'element'] : [col.name, 'list', 'element', leaf.name];
        chunks.push({ path, type: physical(leaf.type), numValues: leaf.count, offset: dataOffset, dictOffset, size: at - chunkStart });
      }
    }
    await this.writev(parts);
    for (const col of this.columns) for (const leaf of columnLeaves(col)) leaf.reset();
    this.groups.push({ rows, bytes: this.offset - groupStart, chunks });
    this.rows += rows;
  }

  private async writev(parts: Uint8Array[]): Promise<void> {
    let total = 0;
    for (const p of parts) total += p.length;
    const end = this.offset + total;
    const { bytesWritten } = await this.fh.writev(parts, this.offset);
    this.offset += bytesWritten;
    // Short writes are rare; finish them part by part.
    let skip = bytesWritten;
    for (const p of parts) {
      if (skip >= p.length) {
        skip -= p.length;
        continue;
      }
      await this.write(p.subarray(skip));
      skip = 0;
    }
    if (this.offset !== end) throw new Error('stage: short write');
  }

  /** Writes the footer; the file is complete afterwards. */
  async finish(): Promise<void> {
    const t = new Thrift();
    t.pushStruct();
    t.i32(1, 1);
    let schemaCount = 1;
    for (const c of this.columns) schemaCount += c.kind === 'flat' ? 1 : c.kind === 'list' ? 3 : 3 + c.leaves.length;
    t.listHeader(2, 12, schemaCount);
    t.pushStruct();
    t.binary(4, 'schema');
    t.i32(5, this.columns.length);
    t.endStruct();
    const leafElem = (leaf: Leaf, rep: number, name: string): void => {
      t.pushStruct();
      t.i32(1, physical(leaf.type));
      t.i32(3, rep);
      t.binary(4, name);
      const ct = converted(leaf.type);
      if (ct !== null) t.i32(6, ct);
      t.endStruct();
    };
    const group = (name: string, rep: number, children: number, ct: number | null): void => {
      t.pushStruct();
      t.i32(3, rep);
      t.binary(4, name);
      t.i32(5, children);
      if (ct !== null) t.i32(6, ct);
      t.endStruct();
    };
    for (const c of this.columns) {
      if (c.kind === 'flat') leafElem(c.leaf, REP_OPTIONAL, c.name);
      else if (c.kind === 'list') {
        group(c.name, REP_REQUIRED, 1, CT_LIST);
        group('list', REP_REPEATED, 1, null);
        leafElem(c.leaf, REP_REQUIRED, 'element');
      } else {
        group(c.name, REP_REQUIRED, 1, CT_LIST);
        group('list', REP_REPEATED, 1, null);
        group('element', REP_REQUIRED, c.leaves.length, null);
        for (const l of c.leaves) leafElem(l, REP_OPTIONAL, l.name);
      }
    }
    t.i64(3, this.rows);
    t.listHeader(4, 12, this.groups.length);
    for (const g of this.groups) {
      t.pushStruct();
      t.listHeader(1, 12, g.chunks.length);
      for (const ch of g.chunks) {
        t.pushStruct();
        t.i64(2, ch.dictOffset >= 0 ? ch.dictOffset : ch.offset);
        t.beginStruct(3);
        t.i32(1, ch.type);
        t.i32List(2, ch.dictOffset >= 0 ? [0, 3, 8] : [0, 3]);
        t.binaryList(3, ch.path);
        t.i32(4, 0); // UNCOMPRESSED
        t.i64(5, ch.numValues);
        t.i64(6, ch.size);
        t.i64(7, ch.size);
        t.i64(9, ch.offset);
        if (ch.dictOffset >= 0) t.i64(11, ch.dictOffset);
        t.endStruct();
        t.endStruct();
      }
      t.i64(2, g.bytes);
      t.i64(3, g.rows);
      t.endStruct();
    }
    t.endStruct();
    const footer = t.out.buf.slice(0, t.out.pos);
    await this.write(footer);
    const tail = Buffer.alloc(8);
    tail.writeUInt32LE(footer.length, 0);
    tail.write('PAR1', 4, 'latin1');
    await this.write(tail);
  }
}
