import type { FieldExpr, ScalarExpr, StaticValue } from './ast.js';

/** TraceQL text for a field expression; names by() groups and select()ed values in results. */
export function formatField(e: FieldExpr): string {
  switch (e.kind) {
    case 'static':
      return formatStatic(e.value);
    case 'attribute': {
      const name = /^[^\s{}()=~!<>&|^,"]+$/.test(e.name) ? e.name : JSON.stringify(e.name);
      const scope = e.scope === 'none' ? '' : e.scope;
      return `${e.parent ? 'parent.' : ''}${scope}.${name}`;
    }
    case 'intrinsic':
      return e.text;
    case 'unary':
      return `${e.op}${wrap(e.expr)}`;
    case 'binary':
      return `${wrap(e.lhs)} ${e.op} ${wrap(e.rhs)}`;
  }
}

function wrap(e: FieldExpr): string {
  return e.kind === 'binary' ? `(${formatField(e)})` : formatField(e);
}

export function formatStatic(v: StaticValue): string {
  switch (v.type) {
    case 'nil':
      return 'nil';
    case 'string':
      return JSON.stringify(v.value);
    case 'duration':
      return formatDuration(v.value);
    case 'float':
      return Number.isInteger(v.value) ? v.value.toFixed(1) : String(v.value);
    default:
      return String(v.value);
  }
}

export function formatScalar(e: ScalarExpr): string {
  switch (e.kind) {
    case 'aggregate':
      return `${e.fn}(${e.expr === null ? '' : formatField(e.expr)})`;
    case 'scalarStatic':
      return formatStatic(e.value);
    case 'scalarBinary':
      return `${formatScalar(e.lhs)} ${e.op} ${formatScalar(e.rhs)}`;
    case 'scalarPipeline':
      return `(… | ${formatScalar(e.aggregate)})`;
  }
}

function formatDuration(ns: number): string {
  const units: [string, number][] = [
    ['h', 3600e9],
    ['m', 60e9],
    ['s', 1e9],
    ['ms', 1e6],
    ['us', 1e3],
    ['ns', 1],
  ];
  for (const [u, f] of units) if (ns !== 0 && ns % f === 0) return `${ns / f}${u}`;
  return `${ns}ns`;
}
