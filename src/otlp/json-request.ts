/**
 * OTLP/JSON → protobuf. The JSON is parsed once and written straight into protobuf, so the rest of the
 * pipeline sees one format. Follows the OTLP/JSON rules: lowerCamelCase names (snake_case accepted too),
 * trace/span IDs as hex, 64-bit integers as strings or numbers, enums as integers or names, unknown
 * fields ignored, null treated as absent.
 */
import { OtlpDecodeError } from './errors.js';
import { WIRE_FIXED32, WIRE_FIXED64, WIRE_VARINT, WireWriter } from './wire.js';

type JsonObject = { readonly [key: string]: unknown };

/** The path of the value being converted, kept as a stack and formatted only for error messages. */
class Path {
  private readonly parts: (string | number)[] = [];
  push(p: string | number): void {
    this.parts.push(p);
  }
  pop(): void {
    this.parts.pop();
  }
  fail(what: string, value: unknown): never {
    let s = '';
    for (const p of this.parts) s += typeof p === 'number' ? `[${p}]` : s === '' ? p : `.${p}`;
    throw new OtlpDecodeError(`${s || 'body'}: ${what}, got ${describe(value)}`);
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return v.length > 40 ? `string "${v.slice(0, 40)}…"` : `string "${v}"`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** Field value by camelCase name, falling back to the snake_case name; null counts as absent. */
function get(o: JsonObject, camel: string, snake: string): unknown {
  const v = o[camel];
  if (v !== undefined && v !== null) return v;
  const s = o[snake];
  return s === null ? undefined : s;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Runs `each` over a repeated field (absent = empty), tracking the path. */
function eachOf(o: JsonObject, camel: string, snake: string, path: Path, each: (item: JsonObject) => void): void {
  const v = get(o, camel, snake);
  if (v === undefined) return;
  path.push(camel);
  if (!Array.isArray(v)) path.fail('expected an array', v);
  for (let i = 0; i < v.length; i++) {
    const item: unknown = v[i];
    path.push(i);
    if (!isObject(item)) path.fail('expected an object', item);
    each(item);
    path.pop();
  }
  path.pop();
}

function writeString(w: WireWriter, o: JsonObject, camel: string, snake: string, field: number, path: Path): void {
  const v = get(o, camel, snake);
  if (v === undefined || v === '') return;
  if (typeof v !== 'string') {
    path.push(camel);
    path.fail('expected a string', v);
  }
  w.stringField(field, v);
}

const UINT_RE = /^\d+$/;
const INT_RE = /^-?\d+$/;

/** Parses a JSON 64-bit integer (number or decimal string). */
function int64(v: unknown, signed: boolean, path: Path, name: string): bigint {
  if (typeof v === 'number') {
    if (Number.isInteger(v) && (signed || v >= 0)) return BigInt(v);
  } else if (typeof v === 'string') {
    if ((signed ? INT_RE : UINT_RE).test(v)) {
      const b = BigInt(v);
      if (signed ? b >= -(2n ** 63n) && b < 2n ** 63n : b < 2n ** 64n) return b;
    }
  }
  path.push(name);
  return path.fail(signed ? 'expected a 64-bit integer' : 'expected an unsigned 64-bit integer', v);
}

function writeFixed64(w: WireWriter, o: JsonObject, camel: string, snake: string, field: number, path: Path): void {
  const v = get(o, camel, snake);
  if (v === undefined) return;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) {
    if (v === 0) return;
    w.tag(field, WIRE_FIXED64);
    w.fixed64Number(v);
    return;
  }
  const b = int64(v, false, path, camel);
  if (b === 0n) return;
  w.tag(field, WIRE_FIXED64);
  w.fixed64(b);
}

function uint32(v: unknown, path: Path, name: string): number {
  const n = typeof v === 'string' && UINT_RE.test(v) ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff) return n;
  path.push(name);
  return path.fail('expected an unsigned 32-bit integer', v);
}

function writeUint32(w: WireWriter, o: JsonObject, camel: string, snake: string, field: number, path: Path): void {
  const v = get(o, camel, snake);
  if (v === undefined) return;
  const n = uint32(v, path, camel);
  if (n === 0) return;
  w.tag(field, WIRE_VARINT);
  w.varint(n);
}

function writeFixed32(w: WireWriter, o: JsonObject, camel: string, snake: string, field: number, path: Path): void {
  const v = get(o, camel, snake);
  if (v === undefined) return;
  const n = uint32(v, path, camel);
  if (n === 0) return;
  w.tag(field, WIRE_FIXED32);
  w.fixed32(n);
}

/** Writes an enum given as an integer or as one of `names` (index = value). */
function writeEnum(w: WireWriter, o: JsonObject, camel: string, snake: string, field: number, names: readonly string[], path: Path): void {
  const v = get(o, camel, snake);
  if (v === undefined) return;
  let n: number;
  if (typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) n = v;
  else if (typeof v === 'string' && names.includes(v)) n = names.indexOf(v);
  else if (typeof v === 'string' && /^-?\d+$/.test(v) && Math.abs(Number(v)) <= 0x7fffffff) n = Number(v);
  else {
    path.push(camel);
    return path.fail(`expected an integer or one of ${names.join(', ')}`, v);
  }
  if (n === 0) return;
  w.tag(field, WIRE_VARINT);
  w.varint64(BigInt(n));
}

function hexNibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Writes a hex-encoded ID as bytes; empty string means absent. Length is checked by the binary decoder. */
function writeHexId(w: WireWriter, o: JsonObject, camel: string, snake: string, field: number, path: Path): void {
  const v = get(o, camel, snake);
  if (v === undefined || v === '') return;
  if (typeof v !== 'string' || v.length % 2 !== 0 || v.length > 64) {
    path.push(camel);
    return path.fail('expected a hex string', v);
  }
  const out = new Uint8Array(v.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexNibble(v.charCodeAt(2 * i));
    const lo = hexNibble(v.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) {
      path.push(camel);
      return path.fail('expected a hex string', v);
    }
    out[i] = (hi << 4) | lo;
  }
  w.bytesField(field, out);
}

const BASE64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;

function writeAttributes(w: WireWriter, o: JsonObject, field: number, path: Path): void {
  eachOf(o, 'attributes', 'attributes', path, (kv) => writeKeyValue(w, field, kv, path, 0));
}

const MAX_DEPTH = 32;

function writeKeyValue(w: WireWriter, field: number, kv: JsonObject, path: Path, depth: number): void {
  const m = w.beginMessage(field);
  writeString(w, kv, 'key', 'key', 1, path);
  const v = kv['value'];
  if (v !== undefined && v !== null) {
    path.push('value');
    if (!isObject(v)) path.fail('expected an object', v);
    writeAnyValue(w, 2, v, path, depth + 1);
    path.pop();
  }
  w.endMessage(m);
}

function writeAnyValue(w: WireWriter, field: number, v: JsonObject, path: Path, depth: number): void {
  if (depth > MAX_DEPTH) path.fail(`values nested deeper than ${MAX_DEPTH} levels`, v);
  const m = w.beginMessage(field);
  let x: unknown;
  if ((x = get(v, 'stringValue', 'string_value')) !== undefined) {
    if (typeof x !== 'string') {
      path.push('stringValue');
      path.fail('expected a string', x);
    }
    w.stringField(1, x);
  } else if ((x = get(v, 'boolValue', 'bool_value')) !== undefined) {
    if (typeof x !== 'boolean') {
      path.push('boolValue');
      path.fail('expected true or false', x);
    }
    w.tag(2, WIRE_VARINT);
    w.varint(x ? 1 : 0);
  } else if ((x = get(v, 'intValue', 'int_value')) !== undefined) {
    const n = int64(x, true, path, 'intValue');
    w.tag(3, WIRE_VARINT);
    w.varint64(n);
  } else if ((x = get(v, 'doubleValue', 'double_value')) !== undefined) {
    let d: number;
    if (typeof x === 'number') d = x;
    else if (x === 'NaN') d = NaN;
    else if (x === 'Infinity') d = Infinity;
    else if (x === '-Infinity') d = -Infinity;
    else if (typeof x === 'string' && x.trim() !== '' && Number.isFinite(Number(x))) d = Number(x);
    else {
      path.push('doubleValue');
      return path.fail('expected a number', x);
    }
    w.tag(4, WIRE_FIXED64);
    w.double(d);
  } else if ((x = get(v, 'arrayValue', 'array_value')) !== undefined) {
    path.push('arrayValue');
    if (!isObject(x)) path.fail('expected an object', x);
    const am = w.beginMessage(5);
    eachOf(x, 'values', 'values', path, (item) => writeAnyValue(w, 1, item, path, depth + 1));
    w.endMessage(am);
    path.pop();
  } else if ((x = get(v, 'kvlistValue', 'kvlist_value')) !== undefined) {
    path.push('kvlistValue');
    if (!isObject(x)) path.fail('expected an object', x);
    const km = w.beginMessage(6);
    eachOf(x, 'values', 'values', path, (item) => writeKeyValue(w, 1, item, path, depth + 1));
    w.endMessage(km);
    path.pop();
  } else if ((x = get(v, 'bytesValue', 'bytes_value')) !== undefined) {
    if (typeof x !== 'string' || !BASE64_RE.test(x)) {
      path.push('bytesValue');
      return path.fail('expected a base64 string', x);
    }
    w.bytesField(7, Buffer.from(x, 'base64'));
  }
  w.endMessage(m);
}

const SPAN_KINDS = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

function writeSpan(w: WireWriter, s: JsonObject, path: Path): void {
  writeHexId(w, s, 'traceId', 'trace_id', 1, path);
  writeHexId(w, s, 'spanId', 'span_id', 2, path);
  writeString(w, s, 'traceState', 'trace_state', 3, path);
  writeHexId(w, s, 'parentSpanId', 'parent_span_id', 4, path);
  writeString(w, s, 'name', 'name', 5, path);
  writeEnum(w, s, 'kind', 'kind', 6, SPAN_KINDS, path);
  writeFixed64(w, s, 'startTimeUnixNano', 'start_time_unix_nano', 7, path);
  writeFixed64(w, s, 'endTimeUnixNano', 'end_time_unix_nano', 8, path);
  writeAttributes(w, s, 9, path);
  writeUint32(w, s, 'droppedAttributesCount', 'dropped_attributes_count', 10, path);
  eachOf(s, 'events', 'events', path, (e) => {
    const m = w.beginMessage(11);
    writeFixed64(w, e, 'timeUnixNano', 'time_unix_nano', 1, path);
    writeString(w, e, 'name', 'name', 2, path);
    writeAttributes(w, e, 3, path);
    writeUint32(w, e, 'droppedAttributesCount', 'dropped_attributes_count', 4, path);
    w.endMessage(m);
  });
  writeUint32(w, s, 'droppedEventsCount', 'dropped_events_count', 12, path);
  eachOf(s, 'links', 'links', path, (l) => {
    const m = w.beginMessage(13);
    writeHexId(w, l, 'traceId', 'trace_id', 1, path);
    writeHexId(w, l, 'spanId', 'span_id', 2, path);
    writeString(w, l, 'traceState', 'trace_state', 3, path);
    writeAttributes(w, l, 4, path);
    writeUint32(w, l, 'droppedAttributesCount', 'dropped_attributes_count', 5, path);
    writeFixed32(w, l, 'flags', 'flags', 6, path);
    w.endMessage(m);
  });
  writeUint32(w, s, 'droppedLinksCount', 'dropped_links_count', 14, path);
  const status = get(s, 'status', 'status');
  if (status !== undefined) {
    path.push('status');
    if (!isObject(status)) path.fail('expected an object', status);
    const m = w.beginMessage(15);
    writeString(w, status, 'message', 'message', 2, path);
    writeEnum(w, status, 'code', 'code', 3, STATUS_CODES, path);
    w.endMessage(m);
    path.pop();
  }
  writeFixed32(w, s, 'flags', 'flags', 16, path);
}

function writeMessageField(w: WireWriter, o: JsonObject, camel: string, snake: string, field: number, path: Path, body: (v: JsonObject) => void): void {
  const v = get(o, camel, snake);
  if (v === undefined) return;
  path.push(camel);
  if (!isObject(v)) path.fail('expected an object', v);
  const m = w.beginMessage(field);
  body(v);
  w.endMessage(m);
  path.pop();
}

/**
 * Converts an OTLP/JSON ExportTraceServiceRequest body into its protobuf encoding.
 * Throws OtlpDecodeError (naming the offending field) on malformed input.
 */
export function otlpJsonToProto(body: string): Uint8Array {
  let root: unknown;
  try {
    root = JSON.parse(body);
  } catch (e) {
    throw new OtlpDecodeError(`invalid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const path: Path = new Path();
  if (!isObject(root)) path.fail('expected a JSON object', root);
  const w = new WireWriter(Math.max(256, body.length >>> 1));
  eachOf(root, 'resourceSpans', 'resource_spans', path, (rs) => {
    const rm = w.beginMessage(1);
    writeMessageField(w, rs, 'resource', 'resource', 1, path, (res) => {
      writeAttributes(w, res, 1, path);
      writeUint32(w, res, 'droppedAttributesCount', 'dropped_attributes_count', 2, path);
    });
    eachOf(rs, 'scopeSpans', 'scope_spans', path, (ss) => {
      const sm = w.beginMessage(2);
      writeMessageField(w, ss, 'scope', 'scope', 1, path, (sc) => {
        writeString(w, sc, 'name', 'name', 1, path);
        writeString(w, sc, 'version', 'version', 2, path);
        writeAttributes(w, sc, 3, path);
        writeUint32(w, sc, 'droppedAttributesCount', 'dropped_attributes_count', 4, path);
      });
      eachOf(ss, 'spans', 'spans', path, (s) => {
        const m = w.beginMessage(2);
        writeSpan(w, s, path);
        w.endMessage(m);
      });
      writeString(w, ss, 'schemaUrl', 'schema_url', 3, path);
      w.endMessage(sm);
    });
    writeString(w, rs, 'schemaUrl', 'schema_url', 3, path);
    w.endMessage(rm);
  });
  return w.finish();
}
