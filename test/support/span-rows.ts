import type { AnyValue, KeyValue, Span } from '../../src/model/trace.js';
import type { SpanEntry } from '../../src/model/batch.js';
import { decodeExportRequest } from '../../src/otlp/decode-request.js';
import { decodeTrace } from '../../src/otlp/trace-decode.js';
import type { SpanRow } from '../../src/block/schema.js';
import type { TraceRecord } from '../../src/model/trace-record.js';

interface DecodedSpan {
  readonly span: Span;
  readonly entry: SpanEntry;
  readonly resourceIdx: number;
  readonly scopeName: string;
  readonly scopeVersion: string;
  readonly scopeAttrs: readonly KeyValue[];
  spanId: string;
  parentSpanId: string;
  left: number;
  right: number;
  parent: number;
}

/**
 * The readable reference for the block's row semantics: writeBlock uses the faster column-wise
 * SpanExtractor (span-extract.ts), and writer.test.ts checks the two agree on every column.
 *
 * Turns one encoded trace into its span rows, sorted by start time, with trace-level and nested-set
 * columns filled in. The payload columns come from the request scanner so a later encodeTrace over
 * them is byte-exact; the typed columns come from the full decode of the same bytes, in the same order.
 */
export function traceToRows(rec: TraceRecord): SpanRow[] {
  const entries = decodeExportRequest(rec.trace, '').spans;
  const trace = decodeTrace(rec.trace);
  const spans: DecodedSpan[] = [];
  const resourceJson: string[] = [];
  const resourceDedicated: ResourceDedicated[] = [];
  trace.resourceSpans.forEach((rs, ri) => {
    resourceJson.push(attrsJson(rs.resource.attributes));
    resourceDedicated.push(resourceColumns(rs.resource.attributes));
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        const entry = entries[spans.length];
        if (entry === undefined) throw new Error(`trace ${rec.traceId}: scanner and decoder disagree on span count`);
        spans.push({
          span,
          entry,
          resourceIdx: ri,
          scopeName: ss.scope.name,
          scopeVersion: ss.scope.version,
          scopeAttrs: ss.scope.attributes,
          spanId: hex(span.spanId),
          parentSpanId: hex(span.parentSpanId),
          left: 0,
          right: 0,
          parent: -1,
        });
      }
    }
  });
  if (spans.length !== entries.length) throw new Error(`trace ${rec.traceId}: scanner and decoder disagree on span count`);

  byStart(spans);
  assignNestedSet(spans);

  let traceStart = -1n;
  let traceEnd = 0n;
  let root: DecodedSpan | undefined;
  for (const s of spans) {
    if (traceStart < 0n || s.span.startTimeUnixNano < traceStart) traceStart = s.span.startTimeUnixNano;
    if (s.span.endTimeUnixNano > traceEnd) traceEnd = s.span.endTimeUnixNano;
    if (root === undefined && s.parentSpanId === '') root = s;
  }
  if (traceStart < 0n) traceStart = 0n;
  const rootService = root ? resourceDedicated[root.resourceIdx]!.serviceName : null;

  return spans.map((s): SpanRow => {
    const sp = s.span;
    const res = resourceDedicated[s.resourceIdx]!;
    const attrs = sp.attributes;
    return {
      traceId: rec.traceId,
      spanId: s.spanId,
      parentSpanId: s.parentSpanId === '' ? null : s.parentSpanId,
      name: sp.name,
      kind: sp.kind,
      statusCode: sp.status.code,
      statusMessage: sp.status.message === '' ? null : sp.status.message,
      startUnixNano: sp.startTimeUnixNano,
      endUnixNano: sp.endTimeUnixNano,
      durationNano: sp.endTimeUnixNano > sp.startTimeUnixNano ? sp.endTimeUnixNano - sp.startTimeUnixNano : 0n,
      serviceName: res.serviceName,
      httpMethod: strAttr(attrs, 'http.request.method', 'http.method'),
      httpRoute: strAttr(attrs, 'http.route'),
      httpUrl: strAttr(attrs, 'url.full', 'http.url'),
      httpStatusCode: intAttr(attrs, 'http.response.status_code', 'http.status_code'),
      dbSystem: strAttr(attrs, 'db.system.name', 'db.system'),
      dbName: strAttr(attrs, 'db.namespace', 'db.name'),
      k8sNamespaceName: res.k8sNamespaceName,
      k8sPodName: res.k8sPodName,
      k8sDeploymentName: res.k8sDeploymentName,
      k8sClusterName: res.k8sClusterName,
      spanAttrsJson: attrsJson(attrs),
      resourceAttrsJson: resourceJson[s.resourceIdx]!,
      scopeName: s.scopeName === '' ? null : s.scopeName,
      scopeVersion: s.scopeVersion === '' ? null : s.scopeVersion,
      eventNamesJson: JSON.stringify(sp.events.map((e) => e.name)),
      linkCount: sp.links.length,
      traceRootService: rootService,
      traceRootName: root ? root.span.name : null,
      traceStartUnixNano: traceStart,
      traceEndUnixNano: traceEnd,
      traceDurationNano: traceEnd > traceStart ? traceEnd - traceStart : 0n,
      nestedLeft: s.left,
      nestedRight: s.right,
      nestedParent: s.parent,
      resourceProto: s.entry.resource,
      scopeProto: s.entry.scope,
      spanProto: s.entry.span,
      eventAttrsJson: attrsJson(sp.events.flatMap((e) => e.attributes)),
      linkAttrsJson: attrsJson(sp.links.flatMap((l) => l.attributes)),
      scopeAttrsJson: attrsJson(s.scopeAttrs),
      linkTraceIdsJson: JSON.stringify(sp.links.map((l) => Buffer.from(l.traceId).toString('hex'))),
      linkSpanIdsJson: JSON.stringify(sp.links.map((l) => Buffer.from(l.spanId).toString('hex'))),
    };
  });
}

function byStart(spans: DecodedSpan[]): void {
  spans.sort((a, b) => {
    const d = a.span.startTimeUnixNano - b.span.startTimeUnixNano;
    if (d !== 0n) return d < 0n ? -1 : 1;
    return a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0;
  });
}

/**
 * Nested-set numbering as in Tempo: a depth-first walk from each root (a span without a parent, or whose
 * parent is not in the trace) gives every span left/right numbers from one counter starting at 1, so
 * "a is a descendant of b" is `b.left < a.left && a.right < b.right`. Parent is the parent's left; -1 for
 * roots. Spans are visited in start-time order (the input is sorted) so the numbering is deterministic.
 */
function assignNestedSet(spans: DecodedSpan[]): void {
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
    // Iterative so a deep trace cannot overflow the stack.
    const stack: { i: number; parentLeft: number; next: number }[] = [{ i: start, parentLeft, next: 0 }];
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
        stack.push({ i: c, parentLeft: spans[top.i]!.left, next: 0 });
      } else {
        spans[top.i]!.right = counter++;
        stack.pop();
      }
    }
  };
  for (const r of roots) walk(r, -1);
  // Spans caught in a parent cycle are unreachable from any root: number them as roots.
  spans.forEach((_, i) => {
    if (visited[i] === 0) walk(i, -1);
  });
}

interface ResourceDedicated {
  serviceName: string | null;
  k8sNamespaceName: string | null;
  k8sPodName: string | null;
  k8sDeploymentName: string | null;
  k8sClusterName: string | null;
}

function resourceColumns(attrs: readonly KeyValue[]): ResourceDedicated {
  return {
    serviceName: strAttr(attrs, 'service.name'),
    k8sNamespaceName: strAttr(attrs, 'k8s.namespace.name'),
    k8sPodName: strAttr(attrs, 'k8s.pod.name'),
    k8sDeploymentName: strAttr(attrs, 'k8s.deployment.name'),
    k8sClusterName: strAttr(attrs, 'k8s.cluster.name'),
  };
}

function find(attrs: readonly KeyValue[], keys: readonly string[]): AnyValue | undefined {
  for (const k of keys) {
    for (const kv of attrs) if (kv.key === k) return kv.value;
  }
  return undefined;
}

function strAttr(attrs: readonly KeyValue[], ...keys: string[]): string | null {
  const v = find(attrs, keys);
  if (v === undefined) return null;
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return v.intValue.toString();
  if ('boolValue' in v) return String(v.boolValue);
  if ('doubleValue' in v) return String(v.doubleValue);
  return null;
}

function intAttr(attrs: readonly KeyValue[], ...keys: string[]): number | null {
  const v = find(attrs, keys);
  if (v === undefined) return null;
  const clamp = (n: number): number => Math.min(0x7fffffff, Math.max(-0x80000000, n));
  if ('intValue' in v) return clamp(Number(v.intValue));
  if ('doubleValue' in v) return Number.isNaN(v.doubleValue) ? null : clamp(Math.floor(v.doubleValue));
  if (!('stringValue' in v)) return null;
  const n = Number.parseInt(v.stringValue, 10);
  return Number.isSafeInteger(n) && Math.abs(n) <= 0x7fffffff ? n : null;
}

/** Attribute list as the JSON the staging table converts to LIST<STRUCT(key,type,str,int,dbl,bool)>. */
export function attrsJson(attrs: readonly KeyValue[]): string {
  if (attrs.length === 0) return '[]';
  const parts: string[] = [];
  for (const kv of attrs) {
    const key = JSON.stringify(kv.key);
    const v = kv.value;
    if ('stringValue' in v) parts.push(`{"key":${key},"type":"string","str":${JSON.stringify(v.stringValue)}}`);
    else if ('intValue' in v) parts.push(`{"key":${key},"type":"int","int":${v.intValue.toString()}}`);
    else if ('doubleValue' in v) {
      parts.push(
        Number.isFinite(v.doubleValue)
          ? `{"key":${key},"type":"double","dbl":${JSON.stringify(v.doubleValue)}}`
          : `{"key":${key},"type":"double","str":${JSON.stringify(String(v.doubleValue))}}`,
      );
    } else if ('boolValue' in v) parts.push(`{"key":${key},"type":"bool","bool":${v.boolValue}}`);
    else if ('arrayValue' in v) parts.push(`{"key":${key},"type":"array","str":${JSON.stringify(JSON.stringify(plain(v)))}}`);
    else if ('kvlistValue' in v) parts.push(`{"key":${key},"type":"kvlist","str":${JSON.stringify(JSON.stringify(plain(v)))}}`);
    else if ('bytesValue' in v) parts.push(`{"key":${key},"type":"bytes","str":"${Buffer.from(v.bytesValue).toString('base64')}"}`);
    else parts.push(`{"key":${key},"type":"empty"}`);
  }
  return `[${parts.join(',')}]`;
}

type Plain = string | number | boolean | null | Plain[] | { [k: string]: Plain };

/** AnyValue as plain JSON for array/kvlist attributes (ints beyond 2^53 become strings). */
function plain(v: AnyValue): Plain {
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) {
    const n = Number(v.intValue);
    return Number.isSafeInteger(n) ? n : v.intValue.toString();
  }
  if ('doubleValue' in v) return Number.isFinite(v.doubleValue) ? v.doubleValue : String(v.doubleValue);
  if ('boolValue' in v) return v.boolValue;
  if ('arrayValue' in v) return v.arrayValue.values.map(plain);
  if ('kvlistValue' in v) {
    const o: { [k: string]: Plain } = {};
    for (const kv of v.kvlistValue.values) o[kv.key] = plain(kv.value);
    return o;
  }
  if ('bytesValue' in v) return Buffer.from(v.bytesValue).toString('base64');
  return null;
}

function hex(b: Uint8Array): string {
  if (b.byteLength === 0) return '';
  const h = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
  // Some SDKs send an all-zero parent ID for roots.
  return /^0+$/.test(h) ? '' : h;
}
