import { WIRE_LEN, WireReader } from '../otlp/wire.js';
import { copyWithout, MAX_NESTING } from '../otlp/scan.js';
import { OtlpDecodeError } from '../otlp/errors.js';
import { Leaf, flatColumn, stringListColumn, structListColumn, type LeafType, type StageColumn } from './parquet-stage.js';
import { SPAN_COLUMNS } from './schema.js';
import { dedicatedColumns, type DedicatedColumn } from './columns.js';
import type { TraceRecord } from '../model/trace-record.js';

/**
 * Turns encoded traces into block rows column by column, reading the protobuf bytes directly: strings
 * and timestamps are copied from the trace buffer into the staging columns without building a span
 * object or a JS string per value. Row semantics match `traceToRows` (test/support/span-rows.ts), which remains the
 * readable reference and is compared against this in the tests.
 */

const ATTR_FIELDS: readonly (readonly [string, LeafType])[] = [
  ['key', 'utf8'],
  ['type', 'utf8'],
  ['str', 'utf8'],
  ['int', 'i64'],
  ['dbl', 'f64'],
  ['bool', 'bool'],
];

/** The staging columns for SPAN_COLUMNS, in the same order and with the same names. */
export function stageColumns(): StageColumn[] {
  return SPAN_COLUMNS.map(([name, type]) => {
    if (type.endsWith('[]')) return type === 'VARCHAR[]' ? stringListColumn(name) : structListColumn(name, ATTR_FIELDS);
    return flatColumn(name, leafType(type));
  });
}

function leafType(t: string): LeafType {
  switch (t) {
    case 'VARCHAR':
      return 'utf8';
    case 'BLOB':
      return 'blob';
    case 'UTINYINT':
      return 'u8';
    case 'INTEGER':
      return 'i32';
    case 'UBIGINT':
      return 'u64';
    default:
      throw new Error(`stage: no leaf type for ${t}`);
  }
}

// AnyValue kinds, in the order of attrs JSON "type" names.
const V_EMPTY = 0;
const V_STRING = 1;
const V_BOOL = 2;
const V_INT = 3;
const V_DOUBLE = 4;
const V_ARRAY = 5;
const V_KVLIST = 6;
const V_BYTES = 7;
const TYPE_NAMES = ['empty', 'string', 'bool', 'int', 'double', 'array', 'kvlist', 'bytes'].map((s) => Buffer.from(s, 'latin1'));

/** Dedicated columns, from the column table; each attribute key they hold gets an index. */
const SPAN_DEDICATED = dedicatedColumns('span');
const RES_DEDICATED = dedicatedColumns('resource');
const SPAN_KEYS = SPAN_DEDICATED.flatMap((d) => d.keys);
const RES_KEYS = RES_DEDICATED.flatMap((d) => d.keys);
/** Per span dedicated column, the indices into SPAN_KEYS of its keys in preference order. */
const SPAN_KEY_SLOTS = slotsOf(SPAN_DEDICATED);
const RES_KEY_SLOTS = slotsOf(RES_DEDICATED);
/** Index into RES_DEDICATED of service.name (the trace's root service comes from it). */
const SERVICE_NAME_AT = RES_DEDICATED.findIndex((d) => d.keys[0] === 'service.name');

function slotsOf(cols: readonly DedicatedColumn[]): number[][] {
  let next = 0;
  return cols.map((d) => d.keys.map(() => next++));
}

/** Key matcher: by length, then bytes; returns the key's index or -1. */
function keyMatcher(keys: readonly string[]): (buf: Uint8Array, s: number, e: number) => number {
  const byLen = new Map<number, { i: number; b: Buffer }[]>();
  keys.forEach((k, i) => {
    const b = Buffer.from(k, 'latin1');
    const l = byLen.get(b.length);
    if (l) l.push({ i, b });
    else byLen.set(b.length, [{ i, b }]);
  });
  const lens = new Uint8Array(256);
  for (const l of byLen.keys()) lens[l] = 1;
  return (buf, s, e) => {
    const n = e - s;
    if (n > 255 || lens[n] === 0) return -1;
    for (const { i, b } of byLen.get(n)!) {
      let j = 0;
      while (j < n && buf[s + j] === b[j]) j++;
      if (j === n) return i;
    }
    return -1;
  };
}
const matchSpanKey = keyMatcher(SPAN_KEYS);
const matchResKey = keyMatcher(RES_KEYS);

/** One parsed AnyValue; reused. */
interface AnyVal {
  kind: number;
  /** Content range for string/array/kvlist/bytes. */
  start: number;
  end: number;
  /** int64 halves (unsigned 32-bit each). */
  lo: number;
  hi: number;
  dbl: number;
  bool: boolean;
}

function newVal(): AnyVal {
  return { kind: V_EMPTY, start: 0, end: 0, lo: 0, hi: 0, dbl: 0, bool: false };
}

let vlo = 0;
let vhi = 0;

/** Reads a varint into vlo/vhi (unsigned 32-bit halves). */
function varint64(r: WireReader): void {
  vlo = r.varint64Halves();
  vhi = r.lastHigh;
}

/** Parses the AnyValue message [r.pos, end) into v (the last set member wins, as in decoders). */
function readAnyValue(r: WireReader, end: number, v: AnyVal): void {
  v.kind = V_EMPTY;
  const outer = r.end;
  r.end = end;
  while (r.pos < end) {
    const t = r.tag();
    const f = t >>> 3;
    const wt = t & 7;
    if (f === 1 && wt === WIRE_LEN) {
      v.end = r.lenEnd();
      v.start = r.pos;
      r.pos = v.end;
      v.kind = V_STRING;
    } else if (f === 2 && wt === 0) {
      varint64(r);
      v.bool = vlo !== 0 || vhi !== 0;
      v.kind = V_BOOL;
    } else if (f === 3 && wt === 0) {
      varint64(r);
      v.lo = vlo;
      v.hi = vhi;
      v.kind = V_INT;
    } else if (f === 4 && wt === 1) {
      v.dbl = r.double();
      v.kind = V_DOUBLE;
    } else if ((f === 5 || f === 6 || f === 7) && wt === WIRE_LEN) {
      v.end = r.lenEnd();
      v.start = r.pos;
      r.pos = v.end;
      v.kind = f === 5 ? V_ARRAY : f === 6 ? V_KVLIST : V_BYTES;
    } else if (f >= 1 && f <= 7) throw new OtlpDecodeError(`AnyValue field ${f}: unexpected wire type ${wt}`);
    else r.skip(wt);
  }
  r.end = outer;
}

type Plain = string | number | boolean | null | Plain[] | { [k: string]: Plain };

const textDecoder = new TextDecoder('utf-8');

function str(buf: Uint8Array, s: number, e: number): string {
  return textDecoder.decode(buf.subarray(s, e));
}

function int64Of(lo: number, hi: number): bigint {
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
}

/** AnyValue as plain JSON for array/kvlist attributes (ints beyond 2^53 become strings). */
function plainOf(buf: Uint8Array, v: AnyVal, depth: number): Plain {
  if (depth > MAX_NESTING) throw new OtlpDecodeError(`AnyValue nested deeper than ${MAX_NESTING} levels`);
  switch (v.kind) {
    case V_STRING:
      return str(buf, v.start, v.end);
    case V_BOOL:
      return v.bool;
    case V_INT: {
      const n = int64Of(v.lo, v.hi);
      const d = Number(n);
      return Number.isSafeInteger(d) ? d : n.toString();
    }
    case V_DOUBLE:
      return Number.isFinite(v.dbl) ? v.dbl : String(v.dbl);
    case V_BYTES:
      return Buffer.from(buf.buffer, buf.byteOffset + v.start, v.end - v.start).toString('base64');
    case V_ARRAY:
    case V_KVLIST: {
      const r = new WireReader(buf, v.start, v.end);
      const arr: Plain[] = [];
      const obj: { [k: string]: Plain } = {};
      while (r.pos < r.end) {
        const t = r.tag();
        if (t !== ((1 << 3) | WIRE_LEN)) {
          r.skip(t & 7);
          continue;
        }
        const e = r.lenEnd();
        if (v.kind === V_ARRAY) {
          const inner = newVal();
          readAnyValue(r, e, inner);
          arr.push(plainOf(buf, inner, depth + 1));
        } else {
          const kv = readKeyValue(r, e, newVal());
          obj[str(buf, kv.keyStart, kv.keyEnd)] = plainOf(buf, kv.val, depth + 1);
        }
        r.pos = e;
      }
      return v.kind === V_ARRAY ? arr : obj;
    }
    default:
      return null;
  }
}

interface KeyVal {
  keyStart: number;
  keyEnd: number;
  val: AnyVal;
}

const KV: KeyVal = { keyStart: 0, keyEnd: 0, val: newVal() };

/** Parses a KeyValue message [r.pos, end); returns a shared scratch unless `val` is given fresh. */
function readKeyValue(r: WireReader, end: number, val: AnyVal): KeyVal {
  const kv: KeyVal = val === KV.val ? KV : { keyStart: 0, keyEnd: 0, val };
  kv.keyStart = 0;
  kv.keyEnd = 0;
  val.kind = V_EMPTY;
  const outer = r.end;
  r.end = end;
  while (r.pos < end) {
    const t = r.tag();
    if (t === ((1 << 3) | WIRE_LEN)) {
      kv.keyEnd = r.lenEnd();
      kv.keyStart = r.pos;
      r.pos = kv.keyEnd;
    } else if (t === ((2 << 3) | WIRE_LEN)) {
      const e = r.lenEnd();
      readAnyValue(r, e, val);
      r.pos = e;
    } else r.skip(t & 7);
  }
  r.end = outer;
  return kv;
}

/** Writes one attribute struct into the six leaves of an attribute list column. */
function writeAttr(leaves: readonly Leaf[], rep: number, buf: Uint8Array, kv: KeyVal): void {
  const [key, type, s, int, dbl, bool] = leaves as [Leaf, Leaf, Leaf, Leaf, Leaf, Leaf];
  const v = kv.val;
  key.level(rep, 2);
  key.utf8(buf, kv.keyStart, kv.keyEnd);
  type.level(rep, 2);
  type.ascii(TYPE_NAMES[v.kind]!);
  switch (v.kind) {
    case V_STRING:
      s.level(rep, 2);
      s.utf8(buf, v.start, v.end);
      break;
    case V_DOUBLE:
      if (Number.isFinite(v.dbl)) s.level(rep, 1);
      else {
        s.level(rep, 2);
        s.string(String(v.dbl));
      }
      break;
    case V_ARRAY:
    case V_KVLIST:
      s.level(rep, 2);
      s.string(JSON.stringify(plainOf(buf, v, 1)));
      break;
    case V_BYTES:
      s.level(rep, 2);
      s.string(Buffer.from(buf.buffer, buf.byteOffset + v.start, v.end - v.start).toString('base64'));
      break;
    default:
      s.level(rep, 1);
  }
  if (v.kind === V_INT) {
    int.level(rep, 2);
    int.i64(v.lo, v.hi);
  } else int.level(rep, 1);
  if (v.kind === V_DOUBLE && Number.isFinite(v.dbl)) {
    dbl.level(rep, 2);
    dbl.f64(v.dbl);
  } else dbl.level(rep, 1);
  if (v.kind === V_BOOL) {
    bool.level(rep, 2);
    bool.bool(v.bool);
  } else bool.level(rep, 1);
}

function writeEmptyList(leaves: readonly Leaf[]): void {
  for (const l of leaves) l.level(0, 0);
}

/** A dedicated string column value: strAttr semantics of test/support/span-rows.ts. */
function dedicatedString(buf: Uint8Array, v: AnyVal): string | null {
  switch (v.kind) {
    case V_STRING:
      return str(buf, v.start, v.end);
    case V_INT:
      return int64Of(v.lo, v.hi).toString();
    case V_BOOL:
      return String(v.bool);
    case V_DOUBLE:
      return String(v.dbl);
    default:
      return null;
  }
}

/**
 * intAttr semantics of test/support/span-rows.ts: numbers as their floor clamped to the INTEGER
 * range, so a condition with an integer literal can always be narrowed by the column (search.ts).
 */
function dedicatedInt(buf: Uint8Array, v: AnyVal): number | null {
  if (v.kind === V_INT) return clampInt32(Number(int64Of(v.lo, v.hi)));
  if (v.kind === V_DOUBLE) return Number.isNaN(v.dbl) ? null : clampInt32(Math.floor(v.dbl));
  if (v.kind !== V_STRING) return null;
  const n = Number.parseInt(str(buf, v.start, v.end), 10);
  return Number.isSafeInteger(n) && Math.abs(n) <= 0x7fffffff ? n : null;
}

function clampInt32(n: number): number {
  return Math.min(0x7fffffff, Math.max(-0x80000000, n));
}

/** What a ResourceSpans contributes to each of its rows; cached by content across traces. */
interface ResourceInfo {
  readonly proto: Uint8Array;
  /** Values of the resource dedicated columns (RES_DEDICATED order) as UTF-8. */
  readonly dedicated: (Uint8Array | null)[];
  /** resource_attrs of one row, pre-encoded. */
  readonly attrs: Leaf[];
}

const RESOURCE_CACHE_MAX = 4096;

/** What a scope contributes to each of its rows; one per distinct scope content. */
interface ScopeInfo {
  readonly proto: Uint8Array;
  /** scope_attrs of one row, pre-encoded. */
  readonly attrs: Leaf[];
}

interface SpanRec {
  resource: ResourceInfo;
  scope: ScopeInfo;
  scopeNameStart: number;
  scopeNameEnd: number;
  scopeVersionStart: number;
  scopeVersionEnd: number;
  start: number;
  end: number;
  spanId: string;
  spanIdStart: number;
  spanIdEnd: number;
  parentSpanId: string;
  parentStart: number;
  parentEnd: number;
  nameStart: number;
  nameEnd: number;
  kind: number;
  startLo: number;
  startHi: number;
  endLo: number;
  endHi: number;
  statusCode: number;
  msgStart: number;
  msgEnd: number;
  links: number;
  left: number;
  right: number;
  parent: number;
}

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

/** Hex of an ID; '' when empty or all zeros (some SDKs send zero parent IDs for roots). */
function idHex(buf: Uint8Array, s: number, e: number): string {
  let zero = true;
  let h = '';
  for (let i = s; i < e; i++) {
    const b = buf[i]!;
    if (b !== 0) zero = false;
    h += HEX[b]!;
  }
  return zero ? '' : h;
}

function u32At(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

/** a < b for 64-bit values given as halves. */
function lt(aHi: number, aLo: number, bHi: number, bLo: number): boolean {
  return aHi < bHi || (aHi === bHi && aLo < bLo);
}

export interface TraceSummary {
  /** Spans written. */
  readonly spans: number;
  /** Earliest start and latest end in ms since the epoch (for meta). */
  readonly startMs: number;
  readonly endMs: number;
}

/** Column leaves by name, fetched once. */
class Cols {
  readonly flat = new Map<string, Leaf>();
  readonly lists = new Map<string, Leaf[]>();
  constructor(columns: readonly StageColumn[]) {
    for (const c of columns) {
      if (c.kind === 'flat' || c.kind === 'list') this.flat.set(c.name, c.leaf);
      else this.lists.set(c.name, c.leaves);
    }
  }
  leaf(name: string): Leaf {
    const l = this.flat.get(name);
    if (l === undefined) throw new Error(`stage: no column ${name}`);
    return l;
  }
  list(name: string): Leaf[] {
    const l = this.lists.get(name);
    if (l === undefined) throw new Error(`stage: no column ${name}`);
    return l;
  }
}

/** Appends traces' rows to the staging columns. */
export class SpanExtractor {
  private readonly resources = new Map<string, ResourceInfo>();
  private readonly scopes = new Map<string, ScopeInfo>();
  private readonly traceId: Leaf;
  private readonly spanId: Leaf;
  private readonly parentSpanId: Leaf;
  private readonly name: Leaf;
  private readonly kind: Leaf;
  private readonly statusCode: Leaf;
  private readonly statusMessage: Leaf;
  private readonly start: Leaf;
  private readonly end: Leaf;
  private readonly duration: Leaf;
  /** Leaves of the dedicated columns, in RES_DEDICATED / SPAN_DEDICATED order. */
  private readonly resDedicated: Leaf[];
  private readonly spanDedicated: Leaf[];
  private readonly spanAttrs: Leaf[];
  private readonly resourceAttrs: Leaf[];
  private readonly scopeName: Leaf;
  private readonly scopeVersion: Leaf;
  private readonly eventNames: Leaf;
  private readonly linkCount: Leaf;
  private readonly rootService: Leaf;
  private readonly rootName: Leaf;
  private readonly traceStart: Leaf;
  private readonly traceEnd: Leaf;
  private readonly traceDuration: Leaf;
  private readonly nestedLeft: Leaf;
  private readonly nestedRight: Leaf;
  private readonly nestedParent: Leaf;
  private readonly resourceProto: Leaf;
  private readonly scopeProto: Leaf;
  private readonly spanProto: Leaf;
  private readonly eventAttrs: Leaf[];
  private readonly linkAttrs: Leaf[];
  private readonly scopeAttrs: Leaf[];
  private readonly linkTraceIds: Leaf;
  private readonly linkSpanIds: Leaf;
  /** First attribute per SPAN_KEYS entry of the span being written (valid where foundSet is 1). */
  private readonly found: AnyVal[] = SPAN_KEYS.map(() => newVal());
  private readonly foundSet = new Uint8Array(SPAN_KEYS.length);

  constructor(columns: readonly StageColumn[]) {
    const c = new Cols(columns);
    this.traceId = c.leaf('trace_id');
    this.spanId = c.leaf('span_id');
    this.parentSpanId = c.leaf('parent_span_id');
    this.name = c.leaf('name');
    this.kind = c.leaf('kind');
    this.statusCode = c.leaf('status_code');
    this.statusMessage = c.leaf('status_message');
    this.start = c.leaf('start_unix_nano');
    this.end = c.leaf('end_unix_nano');
    this.duration = c.leaf('duration_nano');
    this.resDedicated = RES_DEDICATED.map((d) => c.leaf(d.column));
    this.spanDedicated = SPAN_DEDICATED.map((d) => c.leaf(d.column));
    this.spanAttrs = c.list('span_attrs');
    this.resourceAttrs = c.list('resource_attrs');
    this.scopeName = c.leaf('scope_name');
    this.scopeVersion = c.leaf('scope_version');
    this.eventNames = c.leaf('event_names');
    this.linkCount = c.leaf('link_count');
    this.rootService = c.leaf('trace_root_service');
    this.rootName = c.leaf('trace_root_name');
    this.traceStart = c.leaf('trace_start_unix_nano');
    this.traceEnd = c.leaf('trace_end_unix_nano');
    this.traceDuration = c.leaf('trace_duration_nano');
    this.nestedLeft = c.leaf('nested_left');
    this.nestedRight = c.leaf('nested_right');
    this.nestedParent = c.leaf('nested_parent');
    this.resourceProto = c.leaf('resource_proto');
    this.scopeProto = c.leaf('scope_proto');
    this.spanProto = c.leaf('span_proto');
    this.eventAttrs = c.list('event_attrs');
    this.linkAttrs = c.list('link_attrs');
    this.scopeAttrs = c.list('scope_attrs');
    this.linkTraceIds = c.leaf('link_trace_ids');
    this.linkSpanIds = c.leaf('link_span_ids');
  }

  /**
   * Parses one trace and appends its rows (sorted by start time). Returns null for a trace without
   * spans (nothing is written then). Throws OtlpDecodeError on malformed bytes, before writing anything.
   */
  addTrace(rec: TraceRecord): TraceSummary | null {
    const buf = rec.trace;
    const spans = this.parse(buf);
    if (spans.length === 0) return null;
    spans.sort(byStart);
    assignNestedSet(spans);

    let tsHi = spans[0]!.startHi;
    let tsLo = spans[0]!.startLo;
    let teHi = 0;
    let teLo = 0;
    let root: SpanRec | undefined;
    for (const s of spans) {
      if (lt(s.startHi, s.startLo, tsHi, tsLo)) {
        tsHi = s.startHi;
        tsLo = s.startLo;
      }
      if (lt(teHi, teLo, s.endHi, s.endLo)) {
        teHi = s.endHi;
        teLo = s.endLo;
      }
      if (root === undefined && s.parentSpanId === '') root = s;
    }
    const traceIdBytes = Buffer.from(rec.traceId, 'latin1');
    const rootService = root === undefined ? null : root.resource.dedicated[SERVICE_NAME_AT]!;
    const [tdLo, tdHi] = sub64(teHi, teLo, tsHi, tsLo);

    for (const s of spans) {
      this.traceId.level(0, 1);
      this.traceId.ascii(traceIdBytes);
      this.spanId.level(0, 1);
      if (s.spanId === '') this.spanId.string('');
      else this.spanId.hex(buf, s.spanIdStart, s.spanIdEnd);
      if (s.parentSpanId === '') this.parentSpanId.level(0, 0);
      else {
        this.parentSpanId.level(0, 1);
        this.parentSpanId.hex(buf, s.parentStart, s.parentEnd);
      }
      this.name.level(0, 1);
      this.name.utf8(buf, s.nameStart, s.nameEnd);
      this.kind.level(0, 1);
      this.kind.i32(s.kind & 0xff);
      this.statusCode.level(0, 1);
      this.statusCode.i32(s.statusCode & 0xff);
      if (s.msgEnd === s.msgStart) this.statusMessage.level(0, 0);
      else {
        this.statusMessage.level(0, 1);
        this.statusMessage.utf8(buf, s.msgStart, s.msgEnd);
      }
      this.start.level(0, 1);
      this.start.i64(s.startLo, s.startHi);
      this.end.level(0, 1);
      this.end.i64(s.endLo, s.endHi);
      const [dLo, dHi] = sub64(s.endHi, s.endLo, s.startHi, s.startLo);
      this.duration.level(0, 1);
      this.duration.i64(dLo, dHi);
      const res = s.resource;
      for (let i = 0; i < this.resDedicated.length; i++) putOptBytes(this.resDedicated[i]!, res.dedicated[i]!);
      for (let i = 0; i < 6; i++) this.resourceAttrs[i]!.appendLeaf(res.attrs[i]!);
      this.writeSpanBody(buf, s);
      putOptRange(this.scopeName, buf, s.scopeNameStart, s.scopeNameEnd);
      putOptRange(this.scopeVersion, buf, s.scopeVersionStart, s.scopeVersionEnd);
      this.linkCount.level(0, 1);
      this.linkCount.i32(s.links);
      putOptBytes(this.rootService, rootService);
      if (root === undefined) this.rootName.level(0, 0);
      else {
        this.rootName.level(0, 1);
        this.rootName.utf8(buf, root.nameStart, root.nameEnd);
      }
      this.traceStart.level(0, 1);
      this.traceStart.i64(tsLo, tsHi);
      this.traceEnd.level(0, 1);
      this.traceEnd.i64(teLo, teHi);
      this.traceDuration.level(0, 1);
      this.traceDuration.i64(tdLo, tdHi);
      this.nestedLeft.level(0, 1);
      this.nestedLeft.i32(s.left);
      this.nestedRight.level(0, 1);
      this.nestedRight.i32(s.right);
      this.nestedParent.level(0, 1);
      this.nestedParent.i32(s.parent);
      this.resourceProto.level(0, 1);
      this.resourceProto.dictBlob(res.proto);
      this.scopeProto.level(0, 1);
      this.scopeProto.dictBlob(s.scope.proto);
      this.spanProto.level(0, 1);
      this.spanProto.blob(buf, s.start, s.end);
      for (let i = 0; i < 6; i++) this.scopeAttrs[i]!.appendLeaf(s.scope.attrs[i]!);
    }
    return {
      spans: spans.length,
      startMs: nanosToMs(tsHi, tsLo),
      endMs: nanosToMs(teHi, teLo),
    };
  }

  /**
   * Span attributes, the dedicated span columns, event names and attributes, link IDs and
   * attributes: a second walk over the span.
   */
  private writeSpanBody(buf: Uint8Array, s: SpanRec): void {
    const r = new WireReader(buf, s.start, s.end);
    const found = this.found;
    const foundSet = this.foundSet;
    foundSet.fill(0);
    let attrs = 0;
    let events = 0;
    let eventAttrs = 0;
    let links = 0;
    let linkAttrs = 0;
    while (r.pos < r.end) {
      const t = r.tag();
      if (t === ((9 << 3) | WIRE_LEN)) {
        const e = r.lenEnd();
        const kv = readKeyValue(r, e, KV.val);
        r.pos = e;
        writeAttr(this.spanAttrs, attrs === 0 ? 0 : 1, buf, kv);
        attrs++;
        const k = matchSpanKey(buf, kv.keyStart, kv.keyEnd);
        if (k >= 0 && foundSet[k] === 0) {
          foundSet[k] = 1;
          Object.assign(found[k]!, kv.val);
        }
      } else if (t === ((11 << 3) | WIRE_LEN)) {
        const e = r.lenEnd();
        const outer = r.end;
        r.end = e;
        let ns = 0;
        let ne = 0;
        while (r.pos < e) {
          const et = r.tag();
          if (et === ((2 << 3) | WIRE_LEN)) {
            ne = r.lenEnd();
            ns = r.pos;
            r.pos = ne;
          } else if (et === ((3 << 3) | WIRE_LEN)) {
            const ae = r.lenEnd();
            const kv = readKeyValue(r, ae, KV.val);
            r.pos = ae;
            writeAttr(this.eventAttrs, eventAttrs === 0 ? 0 : 1, buf, kv);
            eventAttrs++;
          } else r.skip(et & 7);
        }
        r.end = outer;
        this.eventNames.level(events === 0 ? 0 : 1, 1);
        this.eventNames.utf8(buf, ns, ne);
        events++;
      } else if (t === ((13 << 3) | WIRE_LEN)) {
        const e = r.lenEnd();
        const outer = r.end;
        r.end = e;
        let ts = 0;
        let te = 0;
        let ss = 0;
        let se = 0;
        while (r.pos < e) {
          const lt = r.tag();
          if (lt === ((1 << 3) | WIRE_LEN)) {
            te = r.lenEnd();
            ts = r.pos;
            r.pos = te;
          } else if (lt === ((2 << 3) | WIRE_LEN)) {
            se = r.lenEnd();
            ss = r.pos;
            r.pos = se;
          } else if (lt === ((4 << 3) | WIRE_LEN)) {
            const ae = r.lenEnd();
            const kv = readKeyValue(r, ae, KV.val);
            r.pos = ae;
            writeAttr(this.linkAttrs, linkAttrs === 0 ? 0 : 1, buf, kv);
            linkAttrs++;
          } else r.skip(lt & 7);
        }
        r.end = outer;
        this.linkTraceIds.level(links === 0 ? 0 : 1, 1);
        this.linkTraceIds.hex(buf, ts, te);
        this.linkSpanIds.level(links === 0 ? 0 : 1, 1);
        this.linkSpanIds.hex(buf, ss, se);
        links++;
      } else r.skip(t & 7);
    }
    if (attrs === 0) writeEmptyList(this.spanAttrs);
    if (events === 0) this.eventNames.level(0, 0);
    if (eventAttrs === 0) writeEmptyList(this.eventAttrs);
    if (links === 0) {
      this.linkTraceIds.level(0, 0);
      this.linkSpanIds.level(0, 0);
    }
    if (linkAttrs === 0) writeEmptyList(this.linkAttrs);
    // Each dedicated column holds the first of its keys the span has.
    for (let c = 0; c < SPAN_DEDICATED.length; c++) {
      const leaf = this.spanDedicated[c]!;
      let v: AnyVal | null = null;
      for (const k of SPAN_KEY_SLOTS[c]!) {
        if (foundSet[k] === 1) {
          v = found[k]!;
          break;
        }
      }
      if (SPAN_DEDICATED[c]!.valueType === 'int') {
        const n = v === null ? null : dedicatedInt(buf, v);
        if (n === null) leaf.level(0, 0);
        else {
          leaf.level(0, 1);
          leaf.i32(n);
        }
      } else if (v === null) leaf.level(0, 0);
      else if (v.kind === V_STRING) {
        leaf.level(0, 1);
        leaf.utf8(buf, v.start, v.end);
      } else putOptString(leaf, dedicatedString(buf, v));
    }
  }

  /** First pass: split resources/scopes (as scanTraces does) and read each span's scalar fields. */
  private parse(buf: Uint8Array): SpanRec[] {
    const r = new WireReader(buf);
    const spans: SpanRec[] = [];
    while (r.pos < r.end) {
      const t = r.tag();
      if (t !== ((1 << 3) | WIRE_LEN)) {
        r.skip(t & 7);
        continue;
      }
      const rsEnd = r.lenEnd();
      const rsStart = r.pos;
      r.end = rsEnd;
      const cut: number[] = [];
      const scopes: number[] = [];
      while (r.pos < rsEnd) {
        const fieldStart = r.pos;
        const ft = r.tag();
        if (ft === ((2 << 3) | WIRE_LEN)) {
          const e = r.lenEnd();
          scopes.push(r.pos, e);
          cut.push(fieldStart, e);
          r.pos = e;
        } else r.skip(ft & 7);
      }
      const resource = this.resourceInfo(copyWithout(buf, rsStart, rsEnd, cut));
      for (let i = 0; i < scopes.length; i += 2) this.parseScopeSpans(r, buf, scopes[i]!, scopes[i + 1]!, resource, spans);
      r.pos = rsEnd;
      r.end = buf.length;
    }
    return spans;
  }

  private parseScopeSpans(r: WireReader, buf: Uint8Array, start: number, end: number, resource: ResourceInfo, out: SpanRec[]): void {
    r.pos = start;
    r.end = end;
    const cut: number[] = [];
    const ranges: number[] = [];
    let ns = 0;
    let ne = 0;
    let vs = 0;
    let ve = 0;
    let as = 0;
    let ae = 0;
    while (r.pos < end) {
      const fieldStart = r.pos;
      const t = r.tag();
      if (t === ((2 << 3) | WIRE_LEN)) {
        const e = r.lenEnd();
        ranges.push(r.pos, e);
        cut.push(fieldStart, e);
        r.pos = e;
      } else if (t === ((1 << 3) | WIRE_LEN)) {
        const e = r.lenEnd();
        as = r.pos;
        ae = e;
        r.end = e;
        while (r.pos < e) {
          const st = r.tag();
          if (st === ((1 << 3) | WIRE_LEN)) {
            ne = r.lenEnd();
            ns = r.pos;
            r.pos = ne;
          } else if (st === ((2 << 3) | WIRE_LEN)) {
            ve = r.lenEnd();
            vs = r.pos;
            r.pos = ve;
          } else r.skip(st & 7);
        }
        r.end = end;
      } else r.skip(t & 7);
    }
    const scope = this.scopeInfo(copyWithout(buf, start, end, cut), buf, as, ae);
    for (let i = 0; i < ranges.length; i += 2) {
      const s = parseSpan(r, buf, ranges[i]!, ranges[i + 1]!);
      s.resource = resource;
      s.scope = scope;
      s.scopeNameStart = ns;
      s.scopeNameEnd = ne;
      s.scopeVersionStart = vs;
      s.scopeVersionEnd = ve;
      out.push(s);
    }
  }

  /**
   * One object per distinct scope content, so the staging dictionary stores each once and its
   * attributes (in the InstrumentationScope message at [start, end) of buf) are encoded once.
   */
  private scopeInfo(bytes: Uint8Array, buf: Uint8Array, start: number, end: number): ScopeInfo {
    const key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
    const hit = this.scopes.get(key);
    if (hit !== undefined) return hit;
    const attrs = ATTR_FIELDS.map(([n, t]) => new Leaf(n, t, 2, 1, 64));
    let count = 0;
    const r = new WireReader(buf, start, end);
    while (r.pos < end) {
      const t = r.tag();
      if (t !== ((3 << 3) | WIRE_LEN)) {
        r.skip(t & 7);
        continue;
      }
      const e = r.lenEnd();
      const kv = readKeyValue(r, e, KV.val);
      r.pos = e;
      writeAttr(attrs, count === 0 ? 0 : 1, buf, kv);
      count++;
    }
    if (count === 0) writeEmptyList(attrs);
    const info: ScopeInfo = { proto: bytes, attrs };
    if (this.scopes.size >= RESOURCE_CACHE_MAX) this.scopes.clear();
    this.scopes.set(key, info);
    return info;
  }

  /** Resource columns, from the cache when an identical resource was seen before. */
  private resourceInfo(proto: Uint8Array): ResourceInfo {
    const key = Buffer.from(proto.buffer, proto.byteOffset, proto.byteLength).toString('latin1');
    const hit = this.resources.get(key);
    if (hit !== undefined) return hit;
    const byKey: (Uint8Array | null)[] = RES_KEYS.map(() => null);
    const seen = new Uint8Array(RES_KEYS.length);
    const attrs = ATTR_FIELDS.map(([n, t]) => new Leaf(n, t, 2, 1, 256));
    let count = 0;
    const r = new WireReader(proto);
    while (r.pos < r.end) {
      const t = r.tag();
      if (t !== ((1 << 3) | WIRE_LEN)) {
        r.skip(t & 7);
        continue;
      }
      const e = r.lenEnd();
      r.end = e;
      while (r.pos < e) {
        const at = r.tag();
        if (at !== ((1 << 3) | WIRE_LEN)) {
          r.skip(at & 7);
          continue;
        }
        const ke = r.lenEnd();
        const kv = readKeyValue(r, ke, KV.val);
        r.pos = ke;
        writeAttr(attrs, count === 0 ? 0 : 1, proto, kv);
        count++;
        const k = matchResKey(proto, kv.keyStart, kv.keyEnd);
        if (k >= 0 && seen[k] === 0) {
          seen[k] = 1;
          const d = dedicatedString(proto, kv.val);
          byKey[k] = d === null ? null : Buffer.from(d, 'utf8');
        }
      }
      r.end = proto.length;
    }
    // Each column holds the first of its keys the resource has.
    const dedicated = RES_KEY_SLOTS.map((slots) => {
      const k = slots.find((i) => seen[i] === 1);
      return k === undefined ? null : byKey[k]!;
    });
    if (count === 0) writeEmptyList(attrs);
    const info: ResourceInfo = { proto, dedicated, attrs };
    if (this.resources.size >= RESOURCE_CACHE_MAX) this.resources.clear();
    this.resources.set(key, info);
    return info;
  }
}

/** Placeholder until parseScopeSpans sets the span's scope. */
const NO_SCOPE: ScopeInfo = { proto: new Uint8Array(0), attrs: [] };

function putOptBytes(leaf: Leaf, b: Uint8Array | null): void {
  if (b === null) leaf.level(0, 0);
  else {
    leaf.level(0, 1);
    leaf.blob(b, 0, b.length);
  }
}

function putOptString(leaf: Leaf, s: string | null): void {
  if (s === null) leaf.level(0, 0);
  else {
    leaf.level(0, 1);
    leaf.string(s);
  }
}

/** Optional string from a byte range; an empty range is null. */
function putOptRange(leaf: Leaf, buf: Uint8Array, s: number, e: number): void {
  if (e === s) leaf.level(0, 0);
  else {
    leaf.level(0, 1);
    leaf.utf8(buf, s, e);
  }
}

function nanosToMs(hi: number, lo: number): number {
  return Number(((BigInt(hi) << 32n) | BigInt(lo)) / 1_000_000n);
}

/** max(a − b, 0) for 64-bit values as halves; returns [lo, hi]. */
function sub64(aHi: number, aLo: number, bHi: number, bLo: number): [number, number] {
  if (!lt(bHi, bLo, aHi, aLo)) return [0, 0];
  let lo = aLo - bLo;
  let hi = aHi - bHi;
  if (lo < 0) {
    lo += 4294967296;
    hi -= 1;
  }
  return [lo, hi];
}

function parseSpan(r: WireReader, buf: Uint8Array, start: number, end: number): SpanRec {
  r.pos = start;
  r.end = end;
  const s: SpanRec = {
    resource: undefined as unknown as ResourceInfo,
    scope: NO_SCOPE,
    scopeNameStart: 0,
    scopeNameEnd: 0,
    scopeVersionStart: 0,
    scopeVersionEnd: 0,
    start,
    end,
    spanId: '',
    spanIdStart: 0,
    spanIdEnd: 0,
    parentSpanId: '',
    parentStart: 0,
    parentEnd: 0,
    nameStart: 0,
    nameEnd: 0,
    kind: 0,
    startLo: 0,
    startHi: 0,
    endLo: 0,
    endHi: 0,
    statusCode: 0,
    msgStart: 0,
    msgEnd: 0,
    links: 0,
    left: 0,
    right: 0,
    parent: -1,
  };
  while (r.pos < end) {
    const t = r.tag();
    switch (t) {
      case (2 << 3) | WIRE_LEN: {
        const e = r.lenEnd();
        s.spanId = idHex(buf, r.pos, e);
        s.spanIdStart = r.pos;
        s.spanIdEnd = e;
        r.pos = e;
        break;
      }
      case (4 << 3) | WIRE_LEN: {
        const e = r.lenEnd();
        s.parentSpanId = idHex(buf, r.pos, e);
        s.parentStart = r.pos;
        s.parentEnd = e;
        r.pos = e;
        break;
      }
      case (5 << 3) | WIRE_LEN:
        s.nameEnd = r.lenEnd();
        s.nameStart = r.pos;
        r.pos = s.nameEnd;
        break;
      case (6 << 3) | 0:
        s.kind = r.varint32() | 0;
        break;
      case (7 << 3) | 1:
        s.startLo = u32At(buf, r.pos);
        s.startHi = u32At(buf, r.pos + 4);
        r.skip(1);
        break;
      case (8 << 3) | 1:
        s.endLo = u32At(buf, r.pos);
        s.endHi = u32At(buf, r.pos + 4);
        r.skip(1);
        break;
      case (13 << 3) | WIRE_LEN:
        s.links++;
        r.skip(WIRE_LEN);
        break;
      case (15 << 3) | WIRE_LEN: {
        const e = r.lenEnd();
        r.end = e;
        s.statusCode = 0;
        s.msgStart = s.msgEnd = 0;
        while (r.pos < e) {
          const st = r.tag();
          if (st === ((2 << 3) | WIRE_LEN)) {
            s.msgEnd = r.lenEnd();
            s.msgStart = r.pos;
            r.pos = s.msgEnd;
          } else if (st === ((3 << 3) | 0)) s.statusCode = r.varint32() | 0;
          else r.skip(st & 7);
        }
        r.end = end;
        break;
      }
      default:
        r.skip(t & 7);
    }
  }
  return s;
}

function byStart(a: SpanRec, b: SpanRec): number {
  if (a.startHi !== b.startHi) return a.startHi < b.startHi ? -1 : 1;
  if (a.startLo !== b.startLo) return a.startLo < b.startLo ? -1 : 1;
  return a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0;
}

/** Nested-set numbering; see assignNestedSet in test/support/span-rows.ts (same walk, same numbers). */
function assignNestedSet(spans: SpanRec[]): void {
  const byId = new Map<string, number>();
  spans.forEach((s, i) => {
    if (!byId.has(s.spanId)) byId.set(s.spanId, i);
  });
  const children: number[][] = spans.map(() => []);
  const roots: number[] = [];
  spans.forEach((s, i) => {
    const p = s.parentSpanId === '' ? undefined : byId.get(s.parentSpanId);
    if (p === undefined || p === i) roots.push(i);
    else children[p]!.push(i);
  });
  const visited = new Uint8Array(spans.length);
  let counter = 1;
  const walk = (start: number, parentLeft: number): void => {
    const stack: { i: number; next: number }[] = [{ i: start, next: 0 }];
    visited[start] = 1;
    spans[start]!.left = counter++;
    spans[start]!.parent = parentLeft;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const kids = children[top.i]!;
      if (top.next < kids.length) {
        const c = kids[top.next++]!;
        if (visited[c] === 1) continue;
        visited[c] = 1;
        spans[c]!.left = counter++;
        spans[c]!.parent = spans[top.i]!.left;
        stack.push({ i: c, next: 0 });
      } else {
        spans[top.i]!.right = counter++;
        stack.pop();
      }
    }
  };
  for (const r of roots) walk(r, -1);
  spans.forEach((_, i) => {
    if (visited[i] === 0) walk(i, -1);
  });
}
