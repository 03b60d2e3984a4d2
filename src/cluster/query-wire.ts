/**
 * Parsed TraceQL as it travels from a querier to the ingesters (which evaluate searches and tag
 * filters over their own recent data). The syntax tree is plain data, so it goes as JSON rather than
 * printed back to text, which would need a printer kept exact for every construct; JSON has no
 * spelling for NaN and ±Infinity (`duration > 1e400`), so those travel tagged.
 */
import type { RootExpr } from '../traceql/index.js';

const NUMBER_TAG = '$number';

export function encodeQuery(q: RootExpr): string {
  return JSON.stringify(q, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { [NUMBER_TAG]: String(v) } : v));
}

/** The tree as sent; throws on text that is not a query tree (the caller answers INVALID_ARGUMENT). */
export function decodeQuery(text: string): RootExpr {
  const v: unknown = JSON.parse(text, (_k, x: unknown) => {
    if (typeof x === 'object' && x !== null && !Array.isArray(x)) {
      const keys = Object.keys(x);
      if (keys.length === 1 && keys[0] === NUMBER_TAG) return Number((x as Record<string, unknown>)[NUMBER_TAG]);
    }
    return x;
  });
  const kind = typeof v === 'object' && v !== null ? (v as { kind?: unknown }).kind : undefined;
  if (kind !== 'spansetQuery' && kind !== 'scalarPipelineQuery' && kind !== 'metricsQuery') throw new Error('not a TraceQL query tree');
  return v as RootExpr;
}
