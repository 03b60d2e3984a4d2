import type { EvalSpan, EvalTrace } from './span-model.js';

/** Parent links and trace order of one trace, built from span IDs the first time a query needs them. */
export interface TraceStructure {
  parentOf(s: EvalSpan): EvalSpan | undefined;
  childCount(s: EvalSpan): number;
  order(s: EvalSpan): number;
}

const cache = new WeakMap<EvalTrace, TraceStructure>();

export function structureOf(t: EvalTrace): TraceStructure {
  let st = cache.get(t);
  if (st === undefined) {
    st = buildStructure(t);
    cache.set(t, st);
  }
  return st;
}

function buildStructure(t: EvalTrace): TraceStructure {
  const byId = new Map<string, EvalSpan>();
  const order = new Map<EvalSpan, number>();
  t.spans.forEach((s, i) => {
    byId.set(s.spanId, s);
    order.set(s, i);
  });
  const parent = new Map<EvalSpan, EvalSpan>();
  const counts = new Map<EvalSpan, number>();
  for (const s of t.spans) {
    if (s.parentSpanId === '') continue;
    const p = byId.get(s.parentSpanId);
    if (p === undefined || p === s) continue;
    parent.set(s, p);
    counts.set(p, (counts.get(p) ?? 0) + 1);
  }
  return {
    parentOf: (s) => parent.get(s),
    childCount: (s) => counts.get(s) ?? 0,
    order: (s) => order.get(s) ?? 0,
  };
}
