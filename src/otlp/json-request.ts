/**
 * OTLP/JSON → protobuf, span by span, so the rest of the pipeline sees one format and a large body
 * never becomes one large object graph. Follows the OTLP/JSON rules: lowerCamelCase names (snake_case accepted too),
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

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * A position in the JSON bytes (UTF-8: the structural characters are single bytes that never occur
 * inside a multi-byte character). Only the request's outer levels (request, resourceSpans, scopeSpans,
 * the spans array) are walked here; each resource, scope and span is handed to JSON.parse on its own
 * and written out at once, so the objects of one span at a time exist, not a graph of the whole body
 * (which, for a body of a few MB, outlives the young generation and inflates the heap).
 */
class Cursor {
  pos = 0;
  constructor(readonly s: Buffer) {}

  /** The byte at `i`, -1 past the end. */
  private at(i: number): number {
    return this.s[i] ?? -1;
  }

  fail(what: string): never {
    throw new OtlpDecodeError(`invalid JSON: ${what} at position ${this.pos}`);
  }

  ws(): void {
    while (this.pos < this.s.length && isWhitespace(this.at(this.pos))) this.pos++;
  }

  peek(): number {
    return this.at(this.pos);
  }

  private skipString(): void {
    let from = this.pos + 1;
    for (;;) {
      const q = this.s.indexOf(QUOTE, from);
      if (q < 0) this.fail('unterminated string');
      let backslashes = 0;
      while (this.at(q - 1 - backslashes) === BACKSLASH) backslashes++;
      if (backslashes % 2 === 0) {
        this.pos = q + 1;
        return;
      }
      from = q + 1;
    }
  }

  /** Moves past one value. Only its extent is found here; JSON.parse of the slice checks its content. */
  private skipValue(): void {
    const c = this.peek();
    if (c === QUOTE) return this.skipString();
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      let depth = 0;
      do {
        if (this.pos >= this.s.length) this.fail('unexpected end of input');
        const ch = this.at(this.pos);
        if (ch === QUOTE) {
          this.skipString();
          continue;
        }
        if (ch === OPEN_BRACE || ch === OPEN_BRACKET) depth++;
        else if (ch === CLOSE_BRACE || ch === CLOSE_BRACKET) depth--;
        this.pos++;
      } while (depth > 0);
      return;
    }
    const start = this.pos;
    while (this.pos < this.s.length) {
      const ch = this.at(this.pos);
      if (ch === COMMA || ch === CLOSE_BRACE || ch === CLOSE_BRACKET || isWhitespace(ch)) break;
      this.pos++;
    }
    if (this.pos === start) this.fail('expected a value');
  }

  /** The next value, parsed. */
  value(): unknown {
    const start = this.pos;
    this.skipValue();
    return parseJson(this.s.toString('utf8', start, this.pos));
  }

  /** Consumes a `null` (absent field) if that is what comes next. */
  takeNull(): boolean {
    const p = this.pos;
    if (!(this.at(p) === 0x6e && this.at(p + 1) === 0x75 && this.at(p + 2) === 0x6c && this.at(p + 3) === 0x6c)) return false;
    const after = this.at(p + 4);
    if (!(after === COMMA || after === CLOSE_BRACE || after === CLOSE_BRACKET || isWhitespace(after) || after === -1)) return false;
    this.pos += 4;
    return true;
  }

  private key(): string {
    const start = this.pos;
    this.skipString();
    const raw = this.s.toString('utf8', start + 1, this.pos - 1);
    return raw.includes('\\') ? (parseJson(this.s.toString('utf8', start, this.pos)) as string) : raw;
  }

  /** Walks the object that starts here; `member` must consume exactly the value of each key. */
  members(member: (key: string) => void): void {
    this.pos++; // '{'
    this.ws();
    if (this.peek() === CLOSE_BRACE) {
      this.pos++;
      return;
    }
    for (;;) {
      if (this.peek() !== QUOTE) this.fail('expected a property name');
      const k = this.key();
      this.ws();
      if (this.peek() !== COLON) this.fail("expected ':'");
      this.pos++;
      this.ws();
      member(k);
      this.ws();
      const c = this.peek();
      this.pos++;
      if (c === CLOSE_BRACE) return;
      if (c !== COMMA) {
        this.pos--;
        this.fail("expected ',' or '}'");
      }
      this.ws();
    }
  }

  /** Walks the array that starts here (path: the field's name), each element an object. */
  objects(path: Path, name: string, element: () => void): void {
    path.push(name);
    if (this.peek() !== OPEN_BRACKET) path.fail('expected an array', this.value());
    this.pos++;
    this.ws();
    if (this.peek() === CLOSE_BRACKET) {
      this.pos++;
      path.pop();
      return;
    }
    for (let i = 0; ; i++) {
      path.push(i);
      if (this.peek() !== OPEN_BRACE) path.fail('expected an object', this.value());
      element();
      path.pop();
      this.ws();
      const c = this.peek();
      this.pos++;
      if (c === CLOSE_BRACKET) break;
      if (c !== COMMA) {
        this.pos--;
        this.fail("expected ',' or ']'");
      }
      this.ws();
    }
    path.pop();
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new OtlpDecodeError(`invalid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** A small message field (resource, scope) parsed on its own and written with `body`. */
function writeParsedMessage(c: Cursor, w: WireWriter, name: string, field: number, path: Path, body: (v: JsonObject) => void): void {
  if (c.takeNull()) return;
  const v = c.value();
  path.push(name);
  if (!isObject(v)) path.fail('expected an object', v);
  const m = w.beginMessage(field);
  body(v);
  w.endMessage(m);
  path.pop();
}

function writeSchemaUrl(c: Cursor, w: WireWriter, field: number, path: Path): void {
  writeString(w, { schemaUrl: c.value() }, 'schemaUrl', 'schemaUrl', field, path);
}

function writeScopeSpans(c: Cursor, w: WireWriter, path: Path): void {
  const sm = w.beginMessage(2);
  c.members((key) => {
    if (key === 'scope') {
      writeParsedMessage(c, w, 'scope', 1, path, (sc) => {
        writeString(w, sc, 'name', 'name', 1, path);
        writeString(w, sc, 'version', 'version', 2, path);
        writeAttributes(w, sc, 3, path);
        writeUint32(w, sc, 'droppedAttributesCount', 'dropped_attributes_count', 4, path);
      });
    } else if (key === 'spans') {
      if (c.takeNull()) return;
      c.objects(path, 'spans', () => {
        const span = c.value() as JsonObject;
        const m = w.beginMessage(2);
        writeSpan(w, span, path);
        w.endMessage(m);
      });
    } else if (key === 'schemaUrl' || key === 'schema_url') {
      writeSchemaUrl(c, w, 3, path);
    } else {
      c.value(); // unknown field: checked, ignored
    }
  });
  w.endMessage(sm);
}

function writeResourceSpans(c: Cursor, w: WireWriter, path: Path): void {
  const rm = w.beginMessage(1);
  c.members((key) => {
    if (key === 'resource') {
      writeParsedMessage(c, w, 'resource', 1, path, (res) => {
        writeAttributes(w, res, 1, path);
        writeUint32(w, res, 'droppedAttributesCount', 'dropped_attributes_count', 2, path);
      });
    } else if (key === 'scopeSpans' || key === 'scope_spans') {
      if (c.takeNull()) return;
      c.objects(path, 'scopeSpans', () => writeScopeSpans(c, w, path));
    } else if (key === 'schemaUrl' || key === 'schema_url') {
      writeSchemaUrl(c, w, 3, path);
    } else {
      c.value();
    }
  });
  w.endMessage(rm);
}

/**
 * Converts an OTLP/JSON ExportTraceServiceRequest body (text, or its UTF-8 bytes as received, which
 * avoids a string of the whole body) into its protobuf encoding, one span at a time (see Cursor). Fields may come in any order, as protobuf allows. Throws OtlpDecodeError (naming the
 * offending field) on malformed input.
 */
export function otlpJsonToProto(json: string | Uint8Array): Uint8Array {
  const body = typeof json === 'string' ? Buffer.from(json, 'utf8') : Buffer.from(json.buffer, json.byteOffset, json.byteLength);
  const c = new Cursor(body);
  const path: Path = new Path();
  c.ws();
  // Not an object: JSON.parse says what it is, or why it is not JSON.
  if (c.peek() !== OPEN_BRACE) path.fail('expected a JSON object', parseJson(body.toString('utf8')));
  const w = new WireWriter(Math.max(256, body.length >>> 1));
  c.members((key) => {
    if (key === 'resourceSpans' || key === 'resource_spans') {
      if (c.takeNull()) return;
      c.objects(path, 'resourceSpans', () => writeResourceSpans(c, w, path));
    } else {
      c.value();
    }
  });
  c.ws();
  if (c.pos < body.length) c.fail('unexpected text after the request');
  return w.finish();
}
