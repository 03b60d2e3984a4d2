import { scanTraces } from './scan.js';
import { varintSize } from './wire.js';

/** The three encoded parts of one span, as SpanEntry holds them. */
export interface SpanBytes {
  readonly resource: Uint8Array;
  readonly scope: Uint8Array;
  readonly span: Uint8Array;
}

// Both ResourceSpans.scope_spans and ScopeSpans.spans and Trace.resource_spans are length-delimited
// fields whose tag fits one byte.
const TAG_1_LEN = 0x0a;
const TAG_2_LEN = 0x12;

interface ScopeGroup {
  readonly scope: Uint8Array;
  readonly spans: Uint8Array[];
  /** Encoded size of the ScopeSpans content. */
  size: number;
}

interface ResourceGroup {
  readonly resource: Uint8Array;
  readonly scopes: GroupIndex<ScopeGroup>;
  size: number;
}

function fnv1a(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Groups keyed by byte content, in first-appearance order. Spans of one request share the same
 * resource/scope object, so a reference lookup answers almost every call and hashing is rare.
 */
class GroupIndex<G> {
  readonly list: G[] = [];
  private readonly byRef = new Map<Uint8Array, G>();
  private readonly byHash = new Map<number, { key: Uint8Array; group: G }[]>();

  get(key: Uint8Array, create: () => G): G {
    const hit = this.byRef.get(key);
    if (hit !== undefined) return hit;
    const h = fnv1a(key);
    let bucket = this.byHash.get(h);
    if (bucket === undefined) {
      bucket = [];
      this.byHash.set(h, bucket);
    }
    for (const e of bucket) {
      if (bytesEqual(e.key, key)) {
        this.byRef.set(key, e.group);
        return e.group;
      }
    }
    const g = create();
    bucket.push({ key, group: g });
    this.byRef.set(key, g);
    this.list.push(g);
    return g;
  }
}

/**
 * Encodes spans as a tempopb.Trace (== TracesData), grouping by resource then scope (equal bytes are
 * one group; first-appearance order kept). Pure byte concatenation: nothing is decoded.
 */
export function encodeTrace(spans: readonly SpanBytes[]): Uint8Array {
  const resources = new GroupIndex<ResourceGroup>();
  for (const s of spans) {
    const rg = resources.get(s.resource, () => ({ resource: s.resource, scopes: new GroupIndex<ScopeGroup>(), size: 0 }));
    const sg = rg.scopes.get(s.scope, () => ({ scope: s.scope, spans: [], size: s.scope.length }));
    sg.spans.push(s.span);
    sg.size += 1 + varintSize(s.span.length) + s.span.length;
  }
  let total = 0;
  for (const rg of resources.list) {
    let size = rg.resource.length;
    for (const sg of rg.scopes.list) size += 1 + varintSize(sg.size) + sg.size;
    rg.size = size;
    total += 1 + varintSize(size) + size;
  }
  const out = new Uint8Array(total);
  let pos = 0;
  const putLen = (n: number): void => {
    while (n >= 0x80) {
      out[pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    out[pos++] = n;
  };
  for (const rg of resources.list) {
    out[pos++] = TAG_1_LEN;
    putLen(rg.size);
    out.set(rg.resource, pos);
    pos += rg.resource.length;
    for (const sg of rg.scopes.list) {
      out[pos++] = TAG_2_LEN;
      putLen(sg.size);
      out.set(sg.scope, pos);
      pos += sg.scope.length;
      for (const span of sg.spans) {
        out[pos++] = TAG_2_LEN;
        putLen(span.length);
        out.set(span, pos);
        pos += span.length;
      }
    }
  }
  return out;
}

/**
 * Combines encoded traces (of one trace ID, from live data, WAL and blocks) into one, dropping duplicate
 * spans: same trace ID, span ID and kind, first one kept — the rule Tempo's combiner uses.
 * Throws OtlpDecodeError if an input is malformed.
 */
export function mergeTraces(traces: readonly Uint8Array[]): Uint8Array {
  const seen = new Set<string>();
  const kept: SpanBytes[] = [];
  for (const t of traces) {
    scanTraces(t, (buf, resource, scope, start, end, info) => {
      let key = String.fromCharCode(info.kind & 0xffff);
      for (let i = info.traceIdStart; i < info.traceIdStart + 16; i++) key += String.fromCharCode(buf[i]!);
      for (let i = info.spanIdStart; i < info.spanIdStart + info.spanIdLen; i++) key += String.fromCharCode(buf[i]!);
      if (seen.has(key)) return;
      seen.add(key);
      kept.push({ resource, scope, span: buf.subarray(start, end) });
    });
  }
  return encodeTrace(kept);
}
