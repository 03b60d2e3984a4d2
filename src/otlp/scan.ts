/**
 * The one pass over an encoded ExportTraceServiceRequest / tempopb.Trace that both ingest
 * (decodeExportRequest) and merging (mergeTraces) build on. It validates the wire structure of every
 * message it walks, splits off the resource and scope bytes, and reports each span with the few fields
 * routing and dedupe need, without allocating per attribute.
 */
import { OtlpDecodeError } from './errors.js';
import { WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, WireReader, wireTypeName } from './wire.js';

/** What the scanner knows about one span; one mutable instance is reused for every span of a scan. */
export interface SpanInfo {
  /** Offset of the 16 trace ID bytes in the scanned buffer. */
  traceIdStart: number;
  /** Offset and length (0 or 8) of the span ID bytes. */
  spanIdStart: number;
  spanIdLen: number;
  kind: number;
  startNs: number;
  endNs: number;
}

/**
 * Called once per span. `spanStart`/`spanEnd` delimit the encoded Span inside `buf`; `resource` and
 * `scope` are fresh copies shared by all spans of the same ResourceSpans / ScopeSpans.
 */
export type SpanVisitor = (buf: Uint8Array, resource: Uint8Array, scope: Uint8Array, spanStart: number, spanEnd: number, info: SpanInfo) => void;

/** Expected wire type per field number (index); -1 means unknown field (any wire type is skipped). */
type WireTable = readonly number[];

const V = WIRE_VARINT;
const F64 = WIRE_FIXED64;
const L = WIRE_LEN;
const F32 = WIRE_FIXED32;

const REQUEST_WT: WireTable = [-1, L];
const RESOURCE_SPANS_WT: WireTable = [-1, L, L, L];
const SCOPE_SPANS_WT: WireTable = [-1, L, L, L];
const RESOURCE_WT: WireTable = [-1, L, V];
const SCOPE_WT: WireTable = [-1, L, L, L, V];
// trace_id … flags; see opentelemetry/proto/trace/v1/trace.proto
const SPAN_WT: WireTable = [-1, L, L, L, L, L, V, F64, F64, L, V, L, V, L, V, L, F32];
const EVENT_WT: WireTable = [-1, F64, L, L, V];
const LINK_WT: WireTable = [-1, L, L, L, L, V, F32];
const STATUS_WT: WireTable = [-1, V, L, V];
const KEY_VALUE_WT: WireTable = [-1, L, L];
const ANY_VALUE_WT: WireTable = [-1, L, V, V, F64, L, L, L];
const VALUES_WT: WireTable = [-1, L];

/** Deepest AnyValue nesting accepted; bounds recursion so crafted input cannot overflow the stack. */
export const MAX_NESTING = 32;

/** Reads the next tag of a message described by `table`, rejecting known fields with the wrong wire type. */
function checkedTag(r: WireReader, table: WireTable, what: string): number {
  const at = r.pos;
  const t = r.tag();
  const field = t >>> 3;
  if (field < table.length) {
    const want = table[field]!;
    if (want !== (t & 7))
      throw new OtlpDecodeError(`${what} field ${field}: wire type ${wireTypeName(t & 7)} where ${wireTypeName(want)} is expected (offset ${at})`);
  }
  return t;
}

/**
 * Narrows the reader to the length-delimited field at `pos` so every read inside is bounds-checked
 * against that message; returns the outer end for `leave`.
 */
function enter(r: WireReader): number {
  const e = r.lenEnd();
  const outer = r.end;
  r.end = e;
  return outer;
}

function leave(r: WireReader, outer: number): void {
  r.end = outer;
}

/** Walks a message of the given shape to its end, skipping every field. */
function walkFlat(r: WireReader, table: WireTable, what: string): void {
  while (r.pos < r.end) {
    const t = checkedTag(r, table, what);
    r.skip(t & 7);
  }
}

/** Walks one KeyValue message (the reader already narrowed to it). */
function walkKeyValue(r: WireReader, depth: number): void {
  while (r.pos < r.end) {
    const t = checkedTag(r, KEY_VALUE_WT, 'KeyValue');
    if (t === ((2 << 3) | L)) {
      const outer = enter(r);
      walkAnyValue(r, depth + 1);
      leave(r, outer);
    } else r.skip(t & 7);
  }
}

function walkAnyValue(r: WireReader, depth: number): void {
  if (depth > MAX_NESTING) throw new OtlpDecodeError(`AnyValue nested deeper than ${MAX_NESTING} levels`);
  while (r.pos < r.end) {
    const t = checkedTag(r, ANY_VALUE_WT, 'AnyValue');
    const field = t >>> 3;
    if (field === 5 || field === 6) {
      // ArrayValue{repeated AnyValue values = 1} / KeyValueList{repeated KeyValue values = 1}
      const outer = enter(r);
      while (r.pos < r.end) {
        const vt = checkedTag(r, VALUES_WT, field === 5 ? 'ArrayValue' : 'KeyValueList');
        if (vt === ((1 << 3) | L)) {
          const inner = enter(r);
          if (field === 5) walkAnyValue(r, depth + 1);
          else walkKeyValue(r, depth + 1);
          leave(r, inner);
        } else r.skip(vt & 7);
      }
      leave(r, outer);
    } else r.skip(t & 7);
  }
}

/** Walks one element of a repeated KeyValue field whose tag was just read. */
function walkAttribute(r: WireReader): void {
  const outer = enter(r);
  walkKeyValue(r, 0);
  leave(r, outer);
}

/** Walks a message whose only nested field is repeated KeyValue `attrField`. */
function walkWithAttributes(r: WireReader, table: WireTable, attrField: number, what: string): void {
  const outer = enter(r);
  const attrTag = (attrField << 3) | L;
  while (r.pos < r.end) {
    const t = checkedTag(r, table, what);
    if (t === attrTag) walkAttribute(r);
    else r.skip(t & 7);
  }
  leave(r, outer);
}

/** Copies the fields of [start, end) except the given ranges (sorted, disjoint) into one new array. */
export function copyWithout(buf: Uint8Array, start: number, end: number, cut: readonly number[]): Uint8Array {
  let removed = 0;
  for (let i = 0; i < cut.length; i += 2) removed += cut[i + 1]! - cut[i]!;
  const out = new Uint8Array(end - start - removed);
  let o = 0;
  let from = start;
  for (let i = 0; i < cut.length; i += 2) {
    const a = cut[i]!;
    if (a > from) {
      out.set(buf.subarray(from, a), o);
      o += a - from;
    }
    from = cut[i + 1]!;
  }
  if (end > from) out.set(buf.subarray(from, end), o);
  return out;
}

function isAllZero(buf: Uint8Array, start: number, len: number): boolean {
  for (let i = start; i < start + len; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Scans `buf` (ExportTraceServiceRequest, TracesData or tempopb.Trace) and calls `visit` per span.
 * Throws OtlpDecodeError naming the offending message on any structural problem or bad trace ID.
 */
export function scanTraces(buf: Uint8Array, visit: SpanVisitor): void {
  const r = new WireReader(buf);
  const info: SpanInfo = { traceIdStart: 0, spanIdStart: 0, spanIdLen: 0, kind: 0, startNs: 0, endNs: 0 };
  const cut: number[] = [];
  const scopeRanges: number[] = [];
  let rsIndex = 0;
  while (r.pos < r.end) {
    const t = checkedTag(r, REQUEST_WT, 'ExportTraceServiceRequest');
    if (t !== ((1 << 3) | L)) {
      r.skip(t & 7);
      continue;
    }
    const rsEnd = r.lenEnd();
    const rsStart = r.pos;
    r.end = rsEnd;
    const where = `resourceSpans[${rsIndex}]`;
    // Pass over ResourceSpans: validate fields, note where the scope_spans are.
    cut.length = 0;
    scopeRanges.length = 0;
    while (r.pos < rsEnd) {
      const fieldStart = r.pos;
      const ft = checkedTag(r, RESOURCE_SPANS_WT, where);
      if (ft === ((2 << 3) | L)) {
        const e = r.lenEnd();
        scopeRanges.push(r.pos, e);
        cut.push(fieldStart, e);
        r.pos = e;
      } else if (ft === ((1 << 3) | L)) {
        walkWithAttributes(r, RESOURCE_WT, 1, `${where}.resource`);
      } else r.skip(ft & 7);
    }
    const resource = copyWithout(buf, rsStart, rsEnd, cut);
    for (let s = 0; s < scopeRanges.length; s += 2) {
      scanScopeSpans(r, buf, scopeRanges[s]!, scopeRanges[s + 1]!, resource, `${where}.scopeSpans[${s / 2}]`, visit, info);
    }
    r.pos = rsEnd;
    r.end = buf.length;
    rsIndex++;
  }
}

function scanScopeSpans(
  r: WireReader,
  buf: Uint8Array,
  start: number,
  end: number,
  resource: Uint8Array,
  where: string,
  visit: SpanVisitor,
  info: SpanInfo,
): void {
  const spanRanges: number[] = [];
  const cut: number[] = [];
  r.pos = start;
  r.end = end;
  while (r.pos < end) {
    const fieldStart = r.pos;
    const t = checkedTag(r, SCOPE_SPANS_WT, where);
    if (t === ((2 << 3) | L)) {
      const e = r.lenEnd();
      spanRanges.push(r.pos, e);
      cut.push(fieldStart, e);
      r.pos = e;
    } else if (t === ((1 << 3) | L)) {
      walkWithAttributes(r, SCOPE_WT, 3, `${where}.scope`);
    } else r.skip(t & 7);
  }
  const scope = copyWithout(buf, start, end, cut);
  for (let i = 0; i < spanRanges.length; i += 2) {
    const s = spanRanges[i]!;
    const e = spanRanges[i + 1]!;
    scanSpan(r, buf, s, e, where, i / 2, info);
    visit(buf, resource, scope, s, e, info);
  }
}

function scanSpan(r: WireReader, buf: Uint8Array, start: number, end: number, where: string, index: number, info: SpanInfo): void {
  r.pos = start;
  r.end = end;
  let traceIdStart = -1;
  let spanIdStart = 0;
  let spanIdLen = 0;
  let kind = 0;
  let startNs = 0;
  let endNs = 0;
  while (r.pos < end) {
    const at = r.pos;
    const t = r.tag();
    const field = t >>> 3;
    const wt = t & 7;
    if (field <= 16 && SPAN_WT[field] !== wt) {
      throw new OtlpDecodeError(
        `${where}.spans[${index}] field ${field}: wire type ${wireTypeName(wt)} where ${wireTypeName(SPAN_WT[field]!)} is expected (offset ${at})`,
      );
    }
    switch (field) {
      case 1: {
        const e = r.lenEnd();
        const len = e - r.pos;
        if (len !== 16) throw new OtlpDecodeError(`${where}.spans[${index}]: trace_id is ${len} bytes, must be 16`);
        if (isAllZero(buf, r.pos, 16)) throw new OtlpDecodeError(`${where}.spans[${index}]: trace_id is all zeros`);
        traceIdStart = r.pos;
        r.pos = e;
        break;
      }
      case 2: {
        const e = r.lenEnd();
        const len = e - r.pos;
        if (len !== 8 && len !== 0) throw new OtlpDecodeError(`${where}.spans[${index}]: span_id is ${len} bytes, must be 8`);
        spanIdStart = r.pos;
        spanIdLen = len;
        r.pos = e;
        break;
      }
      case 4: {
        const e = r.lenEnd();
        const len = e - r.pos;
        if (len !== 8 && len !== 0) throw new OtlpDecodeError(`${where}.spans[${index}]: parent_span_id is ${len} bytes, must be 8`);
        r.pos = e;
        break;
      }
      case 6:
        kind = r.varint32();
        break;
      case 7:
        startNs = r.fixed64Number();
        break;
      case 8:
        endNs = r.fixed64Number();
        break;
      case 9:
        walkAttribute(r);
        break;
      case 11:
        walkWithAttributes(r, EVENT_WT, 3, 'Span.Event');
        break;
      case 13:
        walkWithAttributes(r, LINK_WT, 4, 'Span.Link');
        break;
      case 15: {
        const outer = enter(r);
        walkFlat(r, STATUS_WT, 'Span.Status');
        leave(r, outer);
        break;
      }
      default:
        r.skip(wt);
    }
  }
  if (traceIdStart < 0) throw new OtlpDecodeError(`${where}.spans[${index}]: trace_id is missing`);
  info.traceIdStart = traceIdStart;
  info.spanIdStart = spanIdStart;
  info.spanIdLen = spanIdLen;
  info.kind = kind;
  info.startNs = startNs;
  info.endNs = endNs;
}

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

/** Lowercase hex of `len` bytes at `start`. */
export function hexAt(buf: Uint8Array, start: number, len: number): string {
  let s = '';
  for (let i = start; i < start + len; i++) s += HEX[buf[i]!]!;
  return s;
}
