import type { AnyValue, KeyValue, Trace } from '../model/trace.js';
import type { AttrScalar, AttrValue, EvalEvent, EvalLink, EvalSpan, EvalTrace, SpanAttributeScope } from './span-model.js';

type AttrMap = ReadonlyMap<string, AttrValue>;
const EMPTY: AttrMap = new Map();

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function scalarOf(v: AnyValue): AttrScalar | undefined {
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('bytesValue' in v) return Buffer.from(v.bytesValue).toString('base64');
  if ('kvlistValue' in v) return JSON.stringify(Object.fromEntries(v.kvlistValue.values.map((kv) => [kv.key, scalarOf(kv.value) ?? null])));
  return undefined;
}

function attrValueOf(v: AnyValue): AttrValue | undefined {
  if ('arrayValue' in v) {
    const out: AttrScalar[] = [];
    for (const e of v.arrayValue.values) {
      const s = scalarOf(e);
      if (s !== undefined) out.push(s);
    }
    return out;
  }
  return scalarOf(v);
}

function attrMap(kvs: readonly KeyValue[]): AttrMap {
  if (kvs.length === 0) return EMPTY;
  const m = new Map<string, AttrValue>();
  for (const kv of kvs) {
    const v = attrValueOf(kv.value);
    if (v !== undefined) m.set(kv.key, v);
  }
  return m;
}

class Span implements EvalSpan {
  nestedLeft = -1;
  nestedRight = -1;
  nestedParent = -1;
  constructor(
    readonly spanId: string,
    readonly parentSpanId: string,
    readonly name: string,
    readonly kind: number,
    readonly statusCode: number,
    readonly statusMessage: string,
    readonly startUnixNano: bigint,
    readonly durationNano: bigint,
    private readonly spanAttrs: AttrMap,
    private readonly resourceAttrs: AttrMap,
    private readonly scopeAttrs: AttrMap,
    readonly events: readonly EvalEvent[],
    readonly links: readonly EvalLink[],
    readonly instrumentationName: string,
    readonly instrumentationVersion: string,
    readonly serviceName: string,
  ) {}

  /** Attribute keys of a scope (compare() groups by every attribute). */
  attrKeys(scope: 'span' | 'resource'): Iterable<string> {
    return (scope === 'span' ? this.spanAttrs : this.resourceAttrs).keys();
  }

  attr(scope: SpanAttributeScope, key: string): AttrValue | undefined {
    const m = scope === 'span' ? this.spanAttrs : scope === 'resource' ? this.resourceAttrs : this.scopeAttrs;
    return m.get(key);
  }
}

/**
 * Builds the evaluator's view of a decoded trace. The root is the span without a parent (else one whose
 * parent is missing from the trace); nested-set numbers are assigned depth first in start-time order.
 */
export function buildEvalTrace(trace: Trace): EvalTrace {
  const spans: Span[] = [];
  let traceId = '';
  for (const rs of trace.resourceSpans) {
    const resourceAttrs = attrMap(rs.resource.attributes);
    const svc = resourceAttrs.get('service.name');
    const serviceName = typeof svc === 'string' ? svc : '';
    for (const ss of rs.scopeSpans) {
      const scopeAttrs = attrMap(ss.scope.attributes);
      for (const s of ss.spans) {
        if (traceId === '' && s.traceId.length > 0) traceId = hex(s.traceId);
        const events: EvalEvent[] = s.events.map((e) => {
          const attrs = attrMap(e.attributes);
          return { name: e.name, timeSinceStartNano: e.timeUnixNano - s.startTimeUnixNano, attr: (k: string) => attrs.get(k) };
        });
        const links: EvalLink[] = s.links.map((l) => {
          const attrs = attrMap(l.attributes);
          return { traceId: hex(l.traceId), spanId: hex(l.spanId), attr: (k: string) => attrs.get(k) };
        });
        const dur = s.endTimeUnixNano - s.startTimeUnixNano;
        spans.push(
          new Span(
            hex(s.spanId),
            hex(s.parentSpanId),
            s.name,
            s.kind,
            s.status.code,
            s.status.message,
            s.startTimeUnixNano,
            dur > 0n ? dur : 0n,
            attrMap(s.attributes),
            resourceAttrs,
            scopeAttrs,
            events,
            links,
            ss.scope.name,
            ss.scope.version,
            serviceName,
          ),
        );
      }
    }
  }

  let start = 0n;
  let end = 0n;
  for (const s of spans) {
    const e = s.startUnixNano + s.durationNano;
    if (start === 0n || s.startUnixNano < start) start = s.startUnixNano;
    if (e > end) end = e;
  }

  const byId = new Map<string, Span>();
  for (const s of spans) byId.set(s.spanId, s);
  const children = new Map<Span, Span[]>();
  const roots: Span[] = [];
  for (const s of spans) {
    const p = s.parentSpanId === '' ? undefined : byId.get(s.parentSpanId);
    if (p === undefined || p === s) roots.push(s);
    else {
      let list = children.get(p);
      if (list === undefined) children.set(p, (list = []));
      list.push(s);
    }
  }
  const byStart = (a: Span, b: Span): number => (a.startUnixNano < b.startUnixNano ? -1 : a.startUnixNano > b.startUnixNano ? 1 : 0);
  roots.sort((a, b) => ((a.parentSpanId === '') !== (b.parentSpanId === '') ? (a.parentSpanId === '' ? -1 : 1) : byStart(a, b)));
  const root = roots[0];

  // Iterative depth-first numbering so deep traces cannot overflow the stack.
  let counter = 1;
  for (const r of roots) {
    const stack: { span: Span; parentLeft: number; entered: boolean }[] = [{ span: r, parentLeft: -1, entered: false }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (!top.entered) {
        top.entered = true;
        top.span.nestedLeft = counter++;
        top.span.nestedParent = top.parentLeft;
        const kids = (children.get(top.span) ?? []).slice().sort(byStart);
        for (let i = kids.length - 1; i >= 0; i--) stack.push({ span: kids[i]!, parentLeft: top.span.nestedLeft, entered: false });
      } else {
        top.span.nestedRight = counter++;
        stack.pop();
      }
    }
  }

  return {
    traceId,
    rootServiceName: root?.serviceName ?? '',
    rootName: root?.name ?? '',
    startUnixNano: start,
    durationNano: end - start,
    spans,
  };
}
