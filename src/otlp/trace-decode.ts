import type {
  AnyValue,
  InstrumentationScope,
  KeyValue,
  Resource,
  ResourceSpans,
  ScopeSpans,
  Span,
  SpanEvent,
  SpanLink,
  SpanStatus,
  Trace,
} from '../model/trace.js';
import { OtlpDecodeError } from './errors.js';
import { MAX_NESTING } from './scan.js';
import { WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, WireReader, wireTypeName } from './wire.js';

const EMPTY: Uint8Array = new Uint8Array(0);

/** Narrows the reader to the length-delimited field at `pos`; returns the outer end to restore. */
function enter(r: WireReader): number {
  const e = r.lenEnd();
  const outer = r.end;
  r.end = e;
  return outer;
}

function expect(what: string, field: number, wt: number, want: number, r: WireReader): void {
  if (wt !== want) throw new OtlpDecodeError(`${what} field ${field}: wire type ${wireTypeName(wt)} where ${wireTypeName(want)} is expected (offset ${r.pos})`);
}

/** Fully decodes an encoded tempopb.Trace / TracesData / ExportTraceServiceRequest into objects. */
export function decodeTrace(bytes: Uint8Array): Trace {
  const r = new WireReader(bytes);
  const resourceSpans: ResourceSpans[] = [];
  while (r.pos < r.end) {
    const t = r.tag();
    const f = t >>> 3;
    const wt = t & 7;
    if (f === 1) {
      expect('Trace', f, wt, WIRE_LEN, r);
      const outer = enter(r);
      resourceSpans.push(readResourceSpans(r));
      r.end = outer;
    } else r.skip(wt);
  }
  return { resourceSpans };
}

function readResourceSpans(r: WireReader): ResourceSpans {
  let resource: Resource = { attributes: [], droppedAttributesCount: 0 };
  const scopeSpans: ScopeSpans[] = [];
  let schemaUrl = '';
  while (r.pos < r.end) {
    const t = r.tag();
    const f = t >>> 3;
    const wt = t & 7;
    switch (f) {
      case 1: {
        expect('ResourceSpans', f, wt, WIRE_LEN, r);
        const outer = enter(r);
        resource = readResource(r);
        r.end = outer;
        break;
      }
      case 2: {
        expect('ResourceSpans', f, wt, WIRE_LEN, r);
        const outer = enter(r);
        scopeSpans.push(readScopeSpans(r));
        r.end = outer;
        break;
      }
      case 3:
        expect('ResourceSpans', f, wt, WIRE_LEN, r);
        schemaUrl = r.string();
        break;
      default:
        r.skip(wt);
    }
  }
  return { resource, scopeSpans, schemaUrl };
}

function readResource(r: WireReader): Resource {
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  while (r.pos < r.end) {
    const t = r.tag();
    const f = t >>> 3;
    const wt = t & 7;
    if (f === 1) {
      expect('Resource', f, wt, WIRE_LEN, r);
      attributes.push(readKeyValueField(r, 0));
    } else if (f === 2) {
      expect('Resource', f, wt, WIRE_VARINT, r);
      droppedAttributesCount = r.varint32();
    } else r.skip(wt);
  }
  return { attributes, droppedAttributesCount };
}

function readScopeSpans(r: WireReader): ScopeSpans {
  let scope: InstrumentationScope = { name: '', version: '', attributes: [], droppedAttributesCount: 0 };
  const spans: Span[] = [];
  let schemaUrl = '';
  while (r.pos < r.end) {
    const t = r.tag();
    const f = t >>> 3;
    const wt = t & 7;
    switch (f) {
      case 1: {
        expect('ScopeSpans', f, wt, WIRE_LEN, r);
        const outer = enter(r);
        scope = readScope(r);
        r.end = outer;
        break;
      }
      case 2: {
        expect('ScopeSpans', f, wt, WIRE_LEN, r);
        const outer = enter(r);
        spans.push(readSpan(r));
        r.end = outer;
        break;
      }
      case 3:
        expect('ScopeSpans', f, wt, WIRE_LEN, r);
        schemaUrl = r.string();
        break;
      default:
        r.skip(wt);
    }
  }
  return { scope, spans, schemaUrl };
}

function readScope(r: WireReader): InstrumentationScope {
  let name = '';
  let version = '';
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  while (r.pos < r.end) {
    const t = r.tag();
    const f = t >>> 3;
    const wt = t & 7;
    switch (f) {
      case 1:
        expect('InstrumentationScope', f, wt, WIRE_LEN, r);
        name = r.string();
        break;
      case 2:
        expect('InstrumentationScope', f, wt, WIRE_LEN, r);
        version = r.string();
        break;
      case 3:
        expect('InstrumentationScope', f, wt, WIRE_LEN, r);
        attributes.push(readKeyValueField(r, 0));
        break;
      case 4:
        expect('InstrumentationScope', f, wt, WIRE_VARINT, r);
        droppedAttributesCount = r.varint32();
        break;
      default:
        r.skip(wt);
    }
  }
  return { name, version, attributes, droppedAttributesCount };
}

function readSpan(r: WireReader): Span {
  let traceId = EMPTY;
  let spanId = EMPTY;
  let traceState = '';
  let parentSpanId = EMPTY;
  let flags = 0;
  let name = '';
  let kind = 0;
  let startTimeUnixNano = 0n;
  let endTimeUnixNano = 0n;
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  const events: SpanEvent[] = [];
  let droppedEventsCount = 0;
  const links: SpanLink[] = [];
  let droppedLinksCount = 0;
  let status: SpanStatus = { message: '', code: 0 };
  while (r.pos < r.end) {
    const t = r.tag();
    const f = t >>> 3;
    const wt = t & 7;
    switch (f) {
      case 1:
        expect('Span', f, wt, WIRE_LEN, r);
        traceId = r.bytesCopy();
        break;
      case 2:
        expect('Span', f, wt, WIRE_LEN, r);
        spanId = r.bytesCopy();
        break;
      case 3:
        expect('Span', f, wt, WIRE_LEN, r);
        traceState = r.string();
        break;
      case 4:
        expect('Span', f, wt, WIRE_LEN, r);
        parentSpanId = r.bytesCopy();
        break;
      case 5:
        expect('Span', f, wt, WIRE_LEN, r);
        name = r.string();
        break;
      case 6:
        expect('Span', f, wt, WIRE_VARINT, r);
        kind = r.varint32() | 0;
        break;
      case 7:
        expect('Span', f, wt, WIRE_FIXED64, r);
        startTimeUnixNano = r.fixed64();
        break;
      case 8:
        expect('Span', f, wt, WIRE_FIXED64, r);
        endTimeUnixNano = r.fixed64();
        break;
      case 9:
        expect('Span', f, wt, WIRE_LEN, r);
        attributes.push(readKeyValueField(r, 0));
        break;
      case 10:
        expect('Span', f, wt, WIRE_VARINT, r);
        droppedAttributesCount = r.varint32();
        break;
      case 11: {
        expect('Span', f, wt, WIRE_LEN, r);
        const outer = enter(r);
        events.push(readEvent(r));
        r.end = outer;
        break;
      }
      case 12:
        expect('Span', f, wt, WIRE_VARINT, r);
        droppedEventsCount = r.varint32();
        break;
      case 13: {
        expect('Span', f, wt, WIRE_LEN, r);
        const outer = enter(r);
        links.push(readLink(r));
        r.end = outer;
        break;
      }
      case 14:
        expect('Span', f, wt, WIRE_VARINT, r);
        droppedLinksCount = r.varint32();
        break;
      case 15: {
        expect('Span', f, wt, WIRE_LEN, r);
        const outer = enter(r);
        status = readStatus(r);
        r.end = outer;
        break;
      }
      case 16:
        expect('Span', f, wt, WIRE_FIXED32, r);
        flags = r.fixed32();
        break;
      default:
        r.skip(wt);
    }
  }
  return {
    traceId,
    spanId,
    traceState,
    parentSpanId,
    flags,
    name,
    kind,
    startTimeUnixNano,
    endTimeUnixNano,
    attributes,
    droppedAttributesCount,
    events,
    droppedEventsCount,
    links,
    droppedLinksCount,
    status,
  };
}

function readEvent(r: WireReader): SpanEvent {
  let timeUnixNano = 0n;
  let name = '';
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  while (r.pos < r.end) {
    const t = r.tag();
    const f = t >>> 3;
    const wt = t & 7;
    switch (f) {
      case 1:
        expect('Span.Event', f, wt, WIRE_FIXED64, r);
        timeUnixNano = r.fixed64();
        break;
      case 2:
        expect('Span.Event', f, wt, WIRE_LEN, r);
        name = r.string();
        break;
      case 3:
        expect('Span.Event', f, wt, WIRE_LEN, r);
        attributes.push(readKeyValueField(r, 0));
        break;
      case 4:
        expect('Span.Event', f, wt, WIRE_VARINT, r);
        droppedAttributesCount = r.varint32();
        break;
      default:
        r.skip(wt);
    }
  }
  return { timeUnixNano, name, attributes, droppedAttributesCount };
}

function readLink(r: WireReader): SpanLink {
  let traceId = EMPTY;
  let spanId = EMPTY;
  let traceState = '';
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  let flags = 0;
  while (r.pos < r.end) {
    const t = r.tag();
    const f = t >>> 3;
    const wt = t & 7;
    switch (f) {
      case 1:
        expect('Span.Link', f, wt, WIRE_LEN, r);
        traceId = r.bytesCopy();
        break;
      case 2:
        expect('Span.Link', f, wt, WIRE_LEN, r);
        spanId = r.bytesCopy();
        break;
      case 3:
        expect('Span.Link', f, wt, WIRE_LEN, r);
        traceState = r.string();
        break;
      case 4:
        expect('Span.Link', f, wt, WIRE_LEN, r);
        attributes.push(readKeyValueField(r, 0));
        break;
      case 5:
        expect('Span.Link', f, wt, WIRE_VARINT, r);
        droppedAttributesCount = r.varint32();
        break;
      case 6:
        expect('Span.Link', f, wt, WIRE_FIXED32, r);
        flags = r.fixed32();
        break;
      default:
        r.skip(wt);
    }
  }
  return { traceId, spanId, traceState, attributes, droppedAttributesCount, flags };
}

function readStatus(r: WireReader): SpanStatus {
  let message = '';
  let code = 0;
  while (r.pos < r.end) {
    const t = r.tag();
    const f = t >>> 3;
    const wt = t & 7;
    if (f === 2) {
      expect('Span.Status', f, wt, WIRE_LEN, r);
      message = r.string();
    } else if (f === 3) {
      expect('Span.Status', f, wt, WIRE_VARINT, r);
      code = r.varint32() | 0;
    } else r.skip(wt);
  }
  return { message, code };
}

/** Reads one KeyValue from a length-delimited field whose tag was just read. */
function readKeyValueField(r: WireReader, depth: number): KeyValue {
  const outer = enter(r);
  let key = '';
  let value: AnyValue = {};
  while (r.pos < r.end) {
    const t = r.tag();
    const f = t >>> 3;
    const wt = t & 7;
    if (f === 1) {
      expect('KeyValue', f, wt, WIRE_LEN, r);
      key = r.string();
    } else if (f === 2) {
      expect('KeyValue', f, wt, WIRE_LEN, r);
      value = readAnyValueField(r, depth + 1);
    } else r.skip(wt);
  }
  r.end = outer;
  return { key, value };
}

/** Reads one AnyValue from a length-delimited field whose tag was just read; the last set oneof member wins. */
function readAnyValueField(r: WireReader, depth: number): AnyValue {
  if (depth > MAX_NESTING) throw new OtlpDecodeError(`AnyValue nested deeper than ${MAX_NESTING} levels`);
  const outer = enter(r);
  let value: AnyValue = {};
  while (r.pos < r.end) {
    const t = r.tag();
    const f = t >>> 3;
    const wt = t & 7;
    switch (f) {
      case 1:
        expect('AnyValue', f, wt, WIRE_LEN, r);
        value = { stringValue: r.string() };
        break;
      case 2:
        expect('AnyValue', f, wt, WIRE_VARINT, r);
        value = { boolValue: r.bool() };
        break;
      case 3:
        expect('AnyValue', f, wt, WIRE_VARINT, r);
        value = { intValue: r.varintInt64() };
        break;
      case 4:
        expect('AnyValue', f, wt, WIRE_FIXED64, r);
        value = { doubleValue: r.double() };
        break;
      case 5: {
        expect('AnyValue', f, wt, WIRE_LEN, r);
        const inner = enter(r);
        const values: AnyValue[] = [];
        while (r.pos < r.end) {
          const vt = r.tag();
          if (vt >>> 3 === 1) {
            expect('ArrayValue', 1, vt & 7, WIRE_LEN, r);
            values.push(readAnyValueField(r, depth + 1));
          } else r.skip(vt & 7);
        }
        r.end = inner;
        value = { arrayValue: { values } };
        break;
      }
      case 6: {
        expect('AnyValue', f, wt, WIRE_LEN, r);
        const inner = enter(r);
        const values: KeyValue[] = [];
        while (r.pos < r.end) {
          const vt = r.tag();
          if (vt >>> 3 === 1) {
            expect('KeyValueList', 1, vt & 7, WIRE_LEN, r);
            values.push(readKeyValueField(r, depth + 1));
          } else r.skip(vt & 7);
        }
        r.end = inner;
        value = { kvlistValue: { values } };
        break;
      }
      case 7:
        expect('AnyValue', f, wt, WIRE_LEN, r);
        value = { bytesValue: r.bytesCopy() };
        break;
      default:
        r.skip(wt);
    }
  }
  r.end = outer;
  return value;
}
