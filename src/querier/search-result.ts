import type { AttrValue, EvalSpan, EvalTrace, FieldExpr, NamedValue, Pipeline, ResultValue, RootExpr, Spanset, SpansetExpr } from '../traceql/index.js';

/**
 * Search results in Tempo's terms (TraceSearchMetadata, SpanSet, Span), independent of the wire format;
 * the API encodes them as JSON or protobuf.
 */

export interface ResultAttribute {
  readonly key: string;
  readonly value: ResultValue;
}

export interface SearchSpan {
  readonly spanId: string;
  readonly name: string;
  readonly startUnixNano: bigint;
  readonly durationNano: bigint;
  readonly attributes: readonly ResultAttribute[];
}

export interface SearchSpanSet {
  readonly spans: readonly SearchSpan[];
  readonly matched: number;
  readonly attributes: readonly ResultAttribute[];
}

export interface ServiceStats {
  spanCount: number;
  errorCount: number;
}

export interface SearchTrace {
  readonly traceId: string;
  readonly rootServiceName: string;
  readonly rootTraceName: string;
  readonly startUnixNano: bigint;
  readonly durationMs: number;
  readonly spanSets: readonly SearchSpanSet[];
  readonly serviceStats: ReadonlyMap<string, ServiceStats>;
}

export interface SearchMetrics {
  inspectedTraces: number;
  inspectedBytes: number;
  inspectedSpans: number;
  totalBlocks: number;
  totalBlockBytes: number;
  completedJobs: number;
  totalJobs: number;
}

/** Counters of a query over `blocks` before any is read: one job per block. */
export function searchMetricsFor(blocks: readonly { readonly info: { readonly bytes: number } }[]): SearchMetrics {
  return {
    inspectedTraces: 0,
    inspectedBytes: 0,
    inspectedSpans: 0,
    totalBlocks: blocks.length,
    totalBlockBytes: blocks.reduce((n, b) => n + b.info.bytes, 0),
    completedJobs: 0,
    totalJobs: blocks.length,
  };
}

export interface SearchResult {
  readonly traces: readonly SearchTrace[];
  readonly metrics: SearchMetrics;
}

/** What Tempo shows when the root span has not arrived (yet). */
export const ROOT_SPAN_NOT_YET_RECEIVED = '<root span not yet received>';

// Values the response already carries in their own fields, or trace-level ones (as in Tempo).
const HIDDEN_INTRINSICS = new Set(['name', 'duration', 'traceDuration', 'rootName', 'rootServiceName', 'traceID', 'spanID']);
const STATUS_NAMES = ['unset', 'ok', 'error'];
const KIND_NAMES = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

type Shown = { readonly key: string; readonly get: (s: EvalSpan) => ResultValue | undefined };

/**
 * The span fields a query looked at (its filters' attributes and intrinsics), shown on matched spans
 * like Tempo shows the values it fetched. Computed once per query.
 */
export function shownFields(root: RootExpr): readonly Shown[] {
  const exprs: FieldExpr[] = [];
  if (root.kind === 'spansetQuery') collectPipeline(root.pipeline, exprs);
  const out: Shown[] = [];
  const seen = new Set<string>();
  for (const e of exprs) {
    const s = shownOf(e);
    if (s === null || seen.has(s.key)) continue;
    seen.add(s.key);
    out.push(s);
  }
  return out;
}

function collectPipeline(p: Pipeline, out: FieldExpr[]): void {
  for (const st of p.stages) {
    if (st.kind === 'filter' || st.kind === 'spansetOp' || st.kind === 'pipeline') collectSpanset(st, out);
  }
}

function collectSpanset(e: SpansetExpr, out: FieldExpr[]): void {
  if (e.kind === 'filter') collectField(e.expr, out);
  else if (e.kind === 'pipeline') collectPipeline(e.pipeline, out);
  else {
    collectSpanset(e.lhs, out);
    collectSpanset(e.rhs, out);
  }
}

function collectField(e: FieldExpr, out: FieldExpr[]): void {
  if (e.kind === 'attribute' || e.kind === 'intrinsic') out.push(e);
  else if (e.kind === 'binary') {
    collectField(e.lhs, out);
    collectField(e.rhs, out);
  } else if (e.kind === 'unary') collectField(e.expr, out);
}

function shownOf(e: FieldExpr): Shown | null {
  if (e.kind === 'attribute') {
    if (e.parent || e.scope === 'event' || e.scope === 'link') return null;
    const name = e.name;
    const scope = e.scope;
    const read = (s: EvalSpan): AttrValue | undefined => (scope === 'none' ? (s.attr('span', name) ?? s.attr('resource', name)) : s.attr(scope, name));
    return { key: name, get: (s) => attrResult(read(s)) };
  }
  if (e.kind !== 'intrinsic' || HIDDEN_INTRINSICS.has(e.name)) return null;
  switch (e.name) {
    case 'status':
      return { key: 'status', get: (s) => ({ type: 'status', value: (STATUS_NAMES[s.statusCode] ?? 'unset') as 'ok' }) };
    case 'kind':
      return { key: 'kind', get: (s) => ({ type: 'kind', value: (KIND_NAMES[s.kind] ?? 'unspecified') as 'server' }) };
    case 'statusMessage':
      return { key: 'statusMessage', get: (s) => ({ type: 'string', value: s.statusMessage }) };
    case 'instrumentationName':
      return { key: 'instrumentation:name', get: (s) => ({ type: 'string', value: s.instrumentationName }) };
    case 'instrumentationVersion':
      return { key: 'instrumentation:version', get: (s) => ({ type: 'string', value: s.instrumentationVersion }) };
    case 'eventName':
      return {
        key: 'event:name',
        get: (s) => (s.events.length === 0 ? undefined : { type: 'array', values: s.events.map((ev) => ({ type: 'string', value: ev.name })) }),
      };
    default:
      return null;
  }
}

export function attrResult(v: AttrValue | undefined): ResultValue | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return { type: 'array', values: (v as readonly (string | number | boolean)[]).map((x) => scalarResult(x)) };
  return scalarResult(v as string | number | boolean);
}

function scalarResult(v: string | number | boolean): ResultValue & { type: 'string' | 'int' | 'float' | 'bool' } {
  if (typeof v === 'string') return { type: 'string', value: v };
  if (typeof v === 'boolean') return { type: 'bool', value: v };
  return Number.isInteger(v) ? { type: 'int', value: v } : { type: 'float', value: v };
}

/** One trace's search entry from its evaluated spansets (null when none matched). */
export function toSearchTrace(trace: EvalTrace, sets: readonly Spanset[], shown: readonly Shown[], spss: number): SearchTrace | null {
  if (sets.length === 0) return null;
  const spanSets = sets.map(
    (ss): SearchSpanSet => ({
      matched: ss.spans.length,
      attributes: ss.attributes.map((a: NamedValue) => ({ key: a.name, value: a.value })),
      spans: ss.spans.slice(0, Math.max(0, spss)).map((s) => {
        const attributes: ResultAttribute[] = [];
        for (const f of shown) {
          const v = f.get(s);
          if (v !== undefined) attributes.push({ key: f.key, value: v });
        }
        for (const sel of ss.selected.get(s) ?? []) {
          if (!attributes.some((a) => a.key === sel.name)) attributes.push({ key: sel.name, value: sel.value });
        }
        return { spanId: s.spanId, name: s.name, startUnixNano: s.startUnixNano, durationNano: s.durationNano, attributes };
      }),
    }),
  );
  const serviceStats = new Map<string, ServiceStats>();
  for (const s of trace.spans) {
    const svc = s.attr('resource', 'service.name');
    const name = typeof svc === 'string' ? svc : '';
    let st = serviceStats.get(name);
    if (st === undefined) serviceStats.set(name, (st = { spanCount: 0, errorCount: 0 }));
    st.spanCount++;
    if (s.statusCode === 2) st.errorCount++;
  }
  return {
    traceId: trace.traceId,
    rootServiceName: trace.rootServiceName === '' ? ROOT_SPAN_NOT_YET_RECEIVED : trace.rootServiceName,
    rootTraceName: trace.rootName,
    startUnixNano: trace.startUnixNano,
    durationMs: Number(trace.durationNano / 1_000_000n),
    spanSets,
    serviceStats,
  };
}

/**
 * Rough bytes of a result in the JSON answer, used to bound the memory a search may hold: measured on
 * real answers, a trace's fixed fields take about 300 bytes, a span about 250 and an attribute about
 * 80. It need not be exact, only close.
 */
export function estimatedResultBytes(t: SearchTrace): number {
  let n = 300 + t.rootServiceName.length + t.rootTraceName.length + t.serviceStats.size * 80;
  for (const ss of t.spanSets) {
    n += 80 + ss.attributes.length * 80;
    for (const sp of ss.spans) n += 250 + sp.name.length + sp.attributes.length * 80;
  }
  return n;
}
