/**
 * Search and tag answers in Tempo's wire shapes: JSON as Go's jsonpb writes tempopb messages (64-bit
 * integers as strings, zero values left out) and protobuf with tempopb's field numbers.
 */
import { WireWriter } from '../otlp/wire.js';
import type { ResultValue } from '../traceql/index.js';
import type { ResultAttribute, SearchMetrics, SearchResult, SearchSpan, SearchSpanSet, SearchTrace } from '../querier/search-result.js';
import type { TagScopeNames, TagValue } from '../querier/tags.js';

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

/** Go's time.Duration.String(), which Tempo uses for duration values in results. */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let n = Math.abs(Math.round(ns));
  let out: string;
  if (n < 1000) out = `${n}ns`;
  else if (n < 1e6) out = `${trim(n / 1e3)}µs`;
  else if (n < 1e9) out = `${trim(n / 1e6)}ms`;
  else {
    const h = Math.floor(n / 3.6e12);
    n -= h * 3.6e12;
    const m = Math.floor(n / 6e10);
    n -= m * 6e10;
    const s = `${trim(n / 1e9)}s`;
    out = h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s;
  }
  return neg ? `-${out}` : out;
}

function trim(x: number): string {
  return String(Number(x.toFixed(9)));
}

/** An OTLP AnyValue in JSON form. */
export function anyValueJson(v: ResultValue): JsonObject {
  switch (v.type) {
    case 'string':
    case 'status':
    case 'kind':
      return { stringValue: v.value };
    case 'int':
      return { intValue: String(Math.trunc(v.value)) };
    case 'float':
      return { doubleValue: v.value };
    case 'bool':
      return { boolValue: v.value };
    case 'duration':
      return { stringValue: goDuration(v.value) };
    case 'nil':
      return {};
    case 'array':
      return { arrayValue: { values: v.values.map(anyValueJson) } };
  }
}

function attrsJson(attrs: readonly ResultAttribute[]): Json[] {
  return attrs.map((a) => ({ key: a.key, value: anyValueJson(a.value) }));
}

function spanJson(s: SearchSpan): JsonObject {
  const o: JsonObject = { spanID: s.spanId };
  if (s.name !== '') o['name'] = s.name;
  o['startTimeUnixNano'] = s.startUnixNano.toString();
  o['durationNanos'] = s.durationNano.toString();
  if (s.attributes.length > 0) o['attributes'] = attrsJson(s.attributes);
  return o;
}

function spanSetJson(ss: SearchSpanSet): JsonObject {
  const o: JsonObject = { spans: ss.spans.map(spanJson), matched: ss.matched };
  if (ss.attributes.length > 0) o['attributes'] = attrsJson(ss.attributes);
  return o;
}

export function traceJson(t: SearchTrace): JsonObject {
  const o: JsonObject = { traceID: t.traceId, rootServiceName: t.rootServiceName };
  if (t.rootTraceName !== '') o['rootTraceName'] = t.rootTraceName;
  o['startTimeUnixNano'] = t.startUnixNano.toString();
  if (t.durationMs > 0) o['durationMs'] = t.durationMs;
  // Tempo still fills the deprecated single spanSet (the first one) for older Grafanas.
  const sets = t.spanSets.map(spanSetJson);
  if (sets.length > 0) o['spanSet'] = sets[0]!;
  o['spanSets'] = sets;
  const stats: JsonObject = {};
  for (const [svc, st] of t.serviceStats) {
    const s: JsonObject = { spanCount: st.spanCount };
    if (st.errorCount > 0) s['errorCount'] = st.errorCount;
    stats[svc] = s;
  }
  if (t.serviceStats.size > 0) o['serviceStats'] = stats;
  return o;
}

export function metricsJson(m: SearchMetrics): JsonObject {
  const o: JsonObject = {};
  const u32 = (k: string, v: number): void => {
    if (v > 0) o[k] = v;
  };
  const u64 = (k: string, v: number): void => {
    if (v > 0) o[k] = String(v);
  };
  u32('inspectedTraces', m.inspectedTraces);
  u64('inspectedBytes', m.inspectedBytes);
  u32('totalBlocks', m.totalBlocks);
  u32('completedJobs', m.completedJobs);
  u32('totalJobs', m.totalJobs);
  u64('totalBlockBytes', m.totalBlockBytes);
  u64('inspectedSpans', m.inspectedSpans);
  return o;
}

export function searchResponseJson(r: SearchResult): JsonObject {
  return { traces: r.traces.map(traceJson), metrics: metricsJson(r.metrics) };
}

// ---- protobuf ----

export function writeAnyValue(w: WireWriter, field: number, v: ResultValue): void {
  const m = w.beginMessage(field);
  switch (v.type) {
    case 'string':
    case 'status':
    case 'kind':
      w.stringField(1, v.value);
      break;
    case 'duration':
      w.stringField(1, goDuration(v.value));
      break;
    case 'bool':
      w.tag(2, 0);
      w.varint(v.value ? 1 : 0);
      break;
    case 'int':
      w.tag(3, 0);
      w.varint64(BigInt(Math.trunc(v.value)));
      break;
    case 'float':
      w.tag(4, 1);
      w.double(v.value);
      break;
    case 'array': {
      const a = w.beginMessage(5);
      for (const x of v.values) writeAnyValue(w, 1, x);
      w.endMessage(a);
      break;
    }
    case 'nil':
      break;
  }
  w.endMessage(m);
}

function writeAttrs(w: WireWriter, field: number, attrs: readonly ResultAttribute[]): void {
  for (const a of attrs) {
    const kv = w.beginMessage(field);
    w.stringField(1, a.key);
    writeAnyValue(w, 2, a.value);
    w.endMessage(kv);
  }
}

/** tempopb.SearchMetrics as message field `field` (search and metrics answers carry the same one). */
export function writeSearchMetrics(w: WireWriter, field: number, met: SearchMetrics): void {
  const mm = w.beginMessage(field);
  writeUint(w, 1, met.inspectedTraces);
  writeUint(w, 2, met.inspectedBytes);
  writeUint(w, 3, met.totalBlocks);
  writeUint(w, 4, met.completedJobs);
  writeUint(w, 5, met.totalJobs);
  writeUint(w, 6, met.totalBlockBytes);
  writeUint(w, 7, met.inspectedSpans);
  w.endMessage(mm);
}

export function writeUint(w: WireWriter, field: number, v: number | bigint): void {
  if (v === 0 || v === 0n) return;
  w.tag(field, 0);
  if (typeof v === 'bigint') w.varint64(v);
  else w.varint(v);
}

function writeSpanSet(w: WireWriter, field: number, ss: SearchSpanSet): void {
  const m = w.beginMessage(field);
  for (const s of ss.spans) {
    const sm = w.beginMessage(1);
    w.stringField(1, s.spanId);
    if (s.name !== '') w.stringField(2, s.name);
    writeUint(w, 3, s.startUnixNano);
    writeUint(w, 4, s.durationNano);
    writeAttrs(w, 5, s.attributes);
    w.endMessage(sm);
  }
  writeUint(w, 2, ss.matched);
  writeAttrs(w, 3, ss.attributes);
  w.endMessage(m);
}

/** tempopb.SearchResponse. */
export function encodeSearchResponse(r: SearchResult): Uint8Array {
  const w = new WireWriter(4096);
  for (const t of r.traces) {
    const m = w.beginMessage(1);
    w.stringField(1, t.traceId);
    w.stringField(2, t.rootServiceName);
    if (t.rootTraceName !== '') w.stringField(3, t.rootTraceName);
    writeUint(w, 4, t.startUnixNano);
    writeUint(w, 5, t.durationMs);
    if (t.spanSets.length > 0) writeSpanSet(w, 6, t.spanSets[0]!);
    for (const ss of t.spanSets) writeSpanSet(w, 7, ss);
    for (const [svc, st] of t.serviceStats) {
      const e = w.beginMessage(8);
      w.stringField(1, svc);
      const v = w.beginMessage(2);
      writeUint(w, 1, st.spanCount);
      writeUint(w, 2, st.errorCount);
      w.endMessage(v);
      w.endMessage(e);
    }
    w.endMessage(m);
  }
  writeSearchMetrics(w, 2, r.metrics);
  return w.finish();
}

/** tempopb.SearchTagsResponse / SearchTagValuesResponse: one repeated string at field 1. */
export function encodeStringList(values: readonly string[]): Uint8Array {
  const w = new WireWriter(1024);
  for (const v of values) w.stringField(1, v);
  return w.finish();
}

/** tempopb.SearchTagsV2Response. */
export function encodeTagScopes(scopes: readonly TagScopeNames[]): Uint8Array {
  const w = new WireWriter(1024);
  for (const s of scopes) {
    const m = w.beginMessage(1);
    w.stringField(1, s.name);
    for (const t of s.tags) w.stringField(2, t);
    w.endMessage(m);
  }
  return w.finish();
}

/** tempopb.SearchTagValuesV2Response. */
export function encodeTagValues(values: readonly TagValue[]): Uint8Array {
  const w = new WireWriter(1024);
  for (const v of values) {
    const m = w.beginMessage(1);
    w.stringField(1, v.type);
    w.stringField(2, v.value);
    w.endMessage(m);
  }
  return w.finish();
}
