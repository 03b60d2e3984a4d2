import type { FieldExpr, IntrinsicName, Pipeline, PipelineStage, RootExpr, ScalarExpr, ScalarFilter, SpansetExpr, SpansetOp, StaticValue } from './ast.js';
import { TraceQLUnsupportedError } from './errors.js';
import { fieldType, type FieldType } from './field-type.js';
import { formatField, formatScalar } from './format.js';
import { compileRegex, type CompiledRegex } from './regex.js';
import type { AttrScalar, EvalSpan, EvalTrace } from './span-model.js';
import { structureOf } from './structure.js';
import { validate } from './validate.js';

export { buildEvalTrace } from './build-eval-trace.js';
export type { EvalSpan, EvalTrace } from './span-model.js';

/** A value in results: literals' types, plus arrays for array attributes. */
export type ResultValue = StaticValue | { readonly type: 'array'; readonly values: readonly StaticValue[] };

export interface NamedValue {
  readonly name: string;
  readonly value: ResultValue;
}

export interface Spanset {
  readonly spans: readonly EvalSpan[];
  /** by() group values and aggregate results, named as written (`by(resource.service.name)`, `count()`). */
  readonly attributes: readonly NamedValue[];
  /** The last aggregate a scalar filter computed on this spanset. */
  readonly scalar?: number;
  /** select()ed values per span. */
  readonly selected: ReadonlyMap<EvalSpan, readonly NamedValue[]>;
}

export type CompiledQuery = (trace: EvalTrace) => Spanset[];

// Runtime values: null is the nil literal, undefined a missing attribute; status and kind are their names.
type Val = AttrScalar | readonly AttrScalar[] | null | undefined;
type Getter = (s: EvalSpan, t: EvalTrace) => Val;
type Stage = (input: Spanset[], t: EvalTrace) => Spanset[];

const STATUS_NAMES = ['unset', 'ok', 'error'];
const KIND_NAMES = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
/** Distinct regex patterns read from span values that one comparison keeps compiled. */
const DYNAMIC_REGEX_CACHE = 1000;
const NO_SELECTED: ReadonlyMap<EvalSpan, readonly NamedValue[]> = new Map();

const compiled = new WeakMap<RootExpr, CompiledQuery>();

/** Evaluates a search query over one trace; the compiled form is cached per parsed query. */
export function evaluate(query: RootExpr, trace: EvalTrace): Spanset[] {
  let fn = compiled.get(query);
  if (fn === undefined) {
    fn = compile(query);
    compiled.set(query, fn);
  }
  return fn(trace);
}

/**
 * Validates and compiles a search query into one closure per node, so evaluating a trace walks no
 * AST. Metrics queries are refused: only their spanset pipeline is evaluated here (compilePipeline).
 */
export function compile(query: RootExpr): CompiledQuery {
  validate(query);
  if (query.kind !== 'spansetQuery') throw new TraceQLUnsupportedError('evaluating metrics queries');
  return compilePipeline(query.pipeline);
}

/** The spanset pipeline of any query (a metrics query's selection, for instance) as a function of a trace. */
export function compilePipeline(p: Pipeline): CompiledQuery {
  const run = pipelineStage(p);
  return (trace) => {
    if (trace.spans.length === 0) return [];
    return run([{ spans: trace.spans, attributes: [], selected: NO_SELECTED }], trace);
  };
}

// ---- pipeline ----

function pipelineStage(p: Pipeline): Stage {
  const stages = p.stages.map(compileStage);
  return (input, t) => {
    let cur = input;
    for (const st of stages) {
      if (cur.length === 0) return cur;
      cur = st(cur, t);
    }
    return cur;
  };
}

function compileStage(s: PipelineStage): Stage {
  switch (s.kind) {
    case 'filter':
    case 'spansetOp':
    case 'pipeline':
      return spansetStage(s);
    case 'scalarFilter':
      return scalarFilterStage(s);
    case 'groupBy':
      return groupStage(s.expr);
    case 'coalesce':
      return (input, t) => {
        const spans = union(
          input.map((ss) => ss.spans),
          t,
        );
        const selected = new Map<EvalSpan, readonly NamedValue[]>();
        for (const ss of input) for (const [k, v] of ss.selected) selected.set(k, v);
        return [{ spans, attributes: [], selected }];
      };
    case 'select':
      return selectStage(s.exprs);
  }
}

function spansetStage(e: SpansetExpr): Stage {
  switch (e.kind) {
    case 'filter': {
      const pred = compileFilter(e.expr);
      return (input, t) => {
        const out: Spanset[] = [];
        for (const ss of input) {
          const spans = ss.spans.filter((s) => pred(s, t));
          if (spans.length > 0) out.push({ ...ss, spans });
        }
        return out;
      };
    }
    case 'pipeline':
      return pipelineStage(e.pipeline);
    case 'spansetOp': {
      const lhs = spansetStage(e.lhs);
      const rhs = spansetStage(e.rhs);
      const combine = combiner(e.op);
      return (input, t) => {
        const out: Spanset[] = [];
        for (const ss of input) {
          const one = [ss];
          const spans = combine(lhs(one, t), rhs(one, t), t);
          if (spans.length > 0) out.push({ ...ss, spans });
        }
        return out;
      };
    }
  }
}

type Combiner = (l: Spanset[], r: Spanset[], t: EvalTrace) => readonly EvalSpan[];

function combiner(op: SpansetOp): Combiner {
  const all = (xs: Spanset[]): EvalSpan[] => xs.flatMap((x) => x.spans);
  switch (op) {
    case '&&':
      return (l, r, t) => (l.length > 0 && r.length > 0 ? union([all(l), all(r)], t) : []);
    case '||':
      return (l, r, t) => union([all(l), all(r)], t);
    default: {
      const negated = op.startsWith('!');
      const both = op.startsWith('&');
      const rel = (negated || both ? op.slice(1) : op) as Relation;
      return (l, r, t) => {
        const ls = all(l);
        const rs = all(r);
        if (negated) {
          const hit = new Set(related(rel, ls, rs, t));
          return rs.filter((s) => !hit.has(s));
        }
        const right = related(rel, ls, rs, t);
        if (!both) return right;
        return union([related(INVERSE[rel], rs, ls, t), right], t);
      };
    }
  }
}

type Relation = '>' | '<' | '>>' | '<<' | '~';
const INVERSE: Record<Relation, Relation> = { '>': '<', '<': '>', '>>': '<<', '<<': '>>', '~': '~' };

/** The spans of `rs` standing in relation `rel` to some span of `ls` (`ls > rs`: rs spans whose parent is in ls). */
function related(rel: Relation, ls: readonly EvalSpan[], rs: readonly EvalSpan[], t: EvalTrace): EvalSpan[] {
  if (ls.length === 0 || rs.length === 0) return [];
  const st = structureOf(t);
  const lset = new Set(ls);
  const limit = t.spans.length;
  switch (rel) {
    case '>':
      return rs.filter((s) => {
        const p = st.parentOf(s);
        return p !== undefined && lset.has(p);
      });
    case '<': {
      const parents = new Set<EvalSpan>();
      for (const s of ls) {
        const p = st.parentOf(s);
        if (p !== undefined) parents.add(p);
      }
      return rs.filter((s) => parents.has(s));
    }
    case '>>':
      return rs.filter((s) => {
        let p = st.parentOf(s);
        for (let i = 0; p !== undefined && i < limit; i++) {
          if (lset.has(p)) return true;
          p = st.parentOf(p);
        }
        return false;
      });
    case '<<': {
      const ancestors = new Set<EvalSpan>();
      for (const s of ls) {
        let p = st.parentOf(s);
        for (let i = 0; p !== undefined && i < limit && !ancestors.has(p); i++) {
          ancestors.add(p);
          p = st.parentOf(p);
        }
      }
      return rs.filter((s) => ancestors.has(s));
    }
    case '~': {
      const perParent = new Map<EvalSpan, number>();
      for (const s of ls) {
        const p = st.parentOf(s);
        if (p !== undefined) perParent.set(p, (perParent.get(p) ?? 0) + 1);
      }
      return rs.filter((s) => {
        const p = st.parentOf(s);
        if (p === undefined) return false;
        return (perParent.get(p) ?? 0) - (lset.has(s) ? 1 : 0) > 0;
      });
    }
  }
}

/** Distinct spans of all lists, in trace order. */
function union(lists: readonly (readonly EvalSpan[])[], t: EvalTrace): EvalSpan[] {
  const nonEmpty = lists.filter((l) => l.length > 0);
  if (nonEmpty.length === 1) return [...nonEmpty[0]!];
  const seen = new Set<EvalSpan>();
  for (const l of nonEmpty) for (const s of l) seen.add(s);
  const st = structureOf(t);
  return [...seen].sort((a, b) => st.order(a) - st.order(b));
}

function scalarFilterStage(f: ScalarFilter): Stage {
  const lhs = f.lhs;
  if (lhs.kind !== 'aggregate') throw new TraceQLUnsupportedError('scalar filters must compare one aggregate to a number');
  const agg = aggregator(lhs);
  const rhs = constantOf(f.rhs);
  const cmp = numberComparator(f.op);
  const name = formatScalar(lhs);
  const type: StaticValue['type'] = lhs.fn === 'count' ? 'int' : lhs.expr !== null && fieldType(lhs.expr) === 'duration' ? 'duration' : 'float';
  return (input, t) => {
    const out: Spanset[] = [];
    for (const ss of input) {
      const v = agg(ss.spans, t);
      if (v === undefined || !cmp(v, rhs)) continue;
      const value = { type, value: v } as StaticValue;
      out.push({ ...ss, scalar: v, attributes: [...ss.attributes.filter((a) => a.name !== name), { name, value }] });
    }
    return out;
  };
}

function aggregator(a: Extract<ScalarExpr, { kind: 'aggregate' }>): (spans: readonly EvalSpan[], t: EvalTrace) => number | undefined {
  if (a.fn === 'count' || a.expr === null) return (spans) => spans.length;
  const g = compileField(a.expr);
  const fn = a.fn;
  return (spans, t) => {
    let n = 0;
    let acc = fn === 'min' ? Infinity : fn === 'max' ? -Infinity : 0;
    for (const s of spans) {
      const v = g(s, t);
      if (typeof v !== 'number' || Number.isNaN(v)) continue;
      n++;
      if (fn === 'min') acc = v < acc ? v : acc;
      else if (fn === 'max') acc = v > acc ? v : acc;
      else acc += v;
    }
    if (n === 0) return undefined;
    return fn === 'avg' ? acc / n : acc;
  };
}

function constantOf(e: ScalarExpr): number {
  switch (e.kind) {
    case 'scalarStatic':
      return (e.value as { value: number }).value;
    case 'scalarBinary':
      return arithmetic(e.op)(constantOf(e.lhs), constantOf(e.rhs));
    default:
      throw new TraceQLUnsupportedError('scalar filters must compare one aggregate to a number');
  }
}

/** A comparison operator of TraceQL as a function on numbers (shared with metrics comparisons). */
export function numberComparator(op: string): (a: number, b: number) => boolean {
  switch (op) {
    case '=':
      return (a, b) => a === b;
    case '!=':
      return (a, b) => a !== b;
    case '<':
      return (a, b) => a < b;
    case '<=':
      return (a, b) => a <= b;
    case '>':
      return (a, b) => a > b;
    default:
      return (a, b) => a >= b;
  }
}

function arithmetic(op: string): (a: number, b: number) => number {
  switch (op) {
    case '+':
      return (a, b) => a + b;
    case '-':
      return (a, b) => a - b;
    case '*':
      return (a, b) => a * b;
    case '/':
      return (a, b) => a / b;
    case '%':
      return (a, b) => a % b;
    default:
      return (a, b) => Math.pow(a, b);
  }
}

function groupStage(expr: FieldExpr): Stage {
  const g = compileField(expr);
  const t0 = fieldType(expr);
  const name = `by(${formatField(expr)})`;
  return (input, t) => {
    const out: Spanset[] = [];
    for (const ss of input) {
      const groups = new Map<string, { value: Val; spans: EvalSpan[] }>();
      for (const s of ss.spans) {
        const v = g(s, t);
        const key = groupKey(v);
        let grp = groups.get(key);
        if (grp === undefined) groups.set(key, (grp = { value: v, spans: [] }));
        grp.spans.push(s);
      }
      for (const grp of groups.values()) {
        const value = toResult(grp.value, t0) ?? { type: 'nil' };
        out.push({ ...ss, spans: grp.spans, attributes: [...ss.attributes, { name, value }] });
      }
    }
    return out;
  };
}

function groupKey(v: Val): string {
  if (v === undefined || v === null) return 'nil';
  if (Array.isArray(v)) return `a:${JSON.stringify(v)}`;
  return `${typeof v}:${String(v)}`;
}

function selectStage(exprs: readonly FieldExpr[]): Stage {
  // Keyed as Tempo keys them in results: an attribute by its name without scope (`db.system`, not
  // `span.db.system`), which is the column Grafana shows it in; intrinsics as written.
  const fields = exprs.map((e) => ({ name: e.kind === 'attribute' ? e.name : formatField(e), get: compileField(e), type: fieldType(e) }));
  return (input, t) =>
    input.map((ss) => {
      const selected = new Map(ss.selected);
      for (const s of ss.spans) {
        const vals: NamedValue[] = [...(selected.get(s) ?? [])];
        for (const f of fields) {
          const v = toResult(f.get(s, t), f.type);
          if (v !== undefined && !vals.some((x) => x.name === f.name)) vals.push({ name: f.name, value: v });
        }
        selected.set(s, vals);
      }
      return { ...ss, selected };
    });
}

function toResult(v: Val, t: FieldType): ResultValue | undefined {
  if (v === undefined) return undefined;
  if (v === null) return { type: 'nil' };
  if (Array.isArray(v)) return { type: 'array', values: v.map((x) => scalarResult(x, t)) };
  return scalarResult(v as AttrScalar, t);
}

function scalarResult(v: AttrScalar, t: FieldType): StaticValue {
  if (typeof v === 'boolean') return { type: 'bool', value: v };
  if (typeof v === 'number') {
    if (t === 'duration') return { type: 'duration', value: v };
    if (t === 'float') return { type: 'float', value: v };
    return Number.isInteger(v) ? { type: 'int', value: v } : { type: 'float', value: v };
  }
  if (t === 'status') return { type: 'status', value: v as 'ok' };
  if (t === 'kind') return { type: 'kind', value: v as 'server' };
  return { type: 'string', value: v };
}

// ---- field expressions ----

/** A field expression as a function of a span, for the metrics engine (by() labels, measured values). */
export type FieldValue = Val;
export function compileFieldValue(e: FieldExpr): (s: EvalSpan, t: EvalTrace) => FieldValue {
  return compileField(e);
}

/** A field's run-time value as a result value (typed by the expression), undefined when absent. */
export function fieldResultValue(v: FieldValue, t: FieldType): ResultValue | undefined {
  return toResult(v, t);
}

function compileFilter(e: FieldExpr): (s: EvalSpan, t: EvalTrace) => boolean {
  if (e.kind === 'static' && e.value.type === 'bool') {
    const b = e.value.value;
    return () => b;
  }
  const g = compileField(e);
  return (s, t) => g(s, t) === true;
}

function staticVal(v: StaticValue): Val {
  return v.type === 'nil' ? null : v.value;
}

function compileField(e: FieldExpr): Getter {
  switch (e.kind) {
    case 'static': {
      const v = staticVal(e.value);
      return () => v;
    }
    case 'attribute':
      return attributeGetter(e.scope, e.name);
    case 'intrinsic':
      return intrinsicGetter(e.name);
    case 'unary': {
      const g = compileField(e.expr);
      if (e.op === '-') {
        return (s, t) => {
          const v = g(s, t);
          return typeof v === 'number' ? -v : undefined;
        };
      }
      return (s, t) => {
        const v = g(s, t);
        return v === true ? false : v === false ? true : undefined;
      };
    }
    case 'binary':
      return compileBinary(e);
  }
}

function attributeGetter(scope: Extract<FieldExpr, { kind: 'attribute' }>['scope'], key: string): Getter {
  switch (scope) {
    case 'none':
      return (s) => s.attr('span', key) ?? s.attr('resource', key);
    case 'span':
    case 'resource':
    case 'instrumentation':
      return (s) => s.attr(scope, key);
    case 'event':
    case 'link':
      // Any event (link) carrying the attribute can make the span match: gather them as an array.
      return (s) => {
        const items = scope === 'event' ? s.events : s.links;
        let out: AttrScalar[] | undefined;
        for (const it of items) {
          const v = it.attr(key);
          if (v === undefined) continue;
          (out ??= []).push(...(Array.isArray(v) ? (v as AttrScalar[]) : [v as AttrScalar]));
        }
        return out;
      };
  }
}

function intrinsicGetter(name: IntrinsicName): Getter {
  switch (name) {
    case 'duration':
      return (s) => Number(s.durationNano);
    case 'name':
      return (s) => s.name;
    case 'status':
      return (s) => STATUS_NAMES[s.statusCode] ?? 'unset';
    case 'statusMessage':
      return (s) => s.statusMessage;
    case 'kind':
      return (s) => KIND_NAMES[s.kind] ?? 'unspecified';
    case 'childCount':
      return (s, t) => structureOf(t).childCount(s);
    case 'spanID':
      return (s) => s.spanId;
    case 'parentID':
      return (s) => s.parentSpanId;
    case 'traceDuration':
      return (_s, t) => Number(t.durationNano);
    case 'rootName':
      return (_s, t) => t.rootName;
    case 'rootServiceName':
      return (_s, t) => t.rootServiceName;
    case 'traceID':
      return (_s, t) => t.traceId;
    case 'eventName':
      return (s) => (s.events.length > 0 ? s.events.map((e) => e.name) : undefined);
    case 'eventTimeSinceStart':
      return (s) => (s.events.length > 0 ? s.events.map((e) => Number(e.timeSinceStartNano)) : undefined);
    case 'linkTraceID':
      return (s) => (s.links.length > 0 ? s.links.map((l) => l.traceId) : undefined);
    case 'linkSpanID':
      return (s) => (s.links.length > 0 ? s.links.map((l) => l.spanId) : undefined);
    case 'instrumentationName':
      return (s) => s.instrumentationName;
    case 'instrumentationVersion':
      return (s) => s.instrumentationVersion;
    case 'nestedSetLeft':
      return (s) => s.nestedLeft;
    case 'nestedSetRight':
      return (s) => s.nestedRight;
    case 'nestedSetParent':
      return (s) => s.nestedParent;
    case 'parent':
      throw new TraceQLUnsupportedError('the parent intrinsic');
  }
}

function compileBinary(e: Extract<FieldExpr, { kind: 'binary' }>): Getter {
  const l = compileField(e.lhs);
  const r = compileField(e.rhs);
  switch (e.op) {
    case '&&':
      return (s, t) => l(s, t) === true && r(s, t) === true;
    case '||':
      return (s, t) => l(s, t) === true || r(s, t) === true;
    case '+':
    case '-':
    case '*':
    case '/':
    case '%':
    case '^': {
      const f = arithmetic(e.op);
      return (s, t) => {
        const a = l(s, t);
        if (typeof a !== 'number') return undefined;
        const b = r(s, t);
        return typeof b === 'number' ? f(a, b) : undefined;
      };
    }
    default:
      return compileComparison(e.op, e.lhs, e.rhs, l, r);
  }
}

function compileComparison(op: string, le: FieldExpr, re: FieldExpr, l: Getter, r: Getter): Getter {
  const lNil = le.kind === 'static' && le.value.type === 'nil';
  const rNil = re.kind === 'static' && re.value.type === 'nil';
  if (lNil && rNil) {
    const v = op === '=';
    return () => v;
  }
  if (lNil || rNil) {
    const g = lNil ? r : l;
    if (op === '=') return (s, t) => g(s, t) === undefined;
    if (op === '!=') return (s, t) => g(s, t) !== undefined;
    return () => false;
  }
  // An attribute can never hold a status or kind value.
  const lt = fieldType(le);
  const rt = fieldType(re);
  const enumType = (x: FieldType): boolean => x === 'status' || x === 'kind';
  if ((enumType(lt) && rt === 'attribute') || (enumType(rt) && lt === 'attribute')) return () => false;

  if (op === '=~' || op === '!~') {
    const negate = op === '!~';
    if (re.kind === 'static' && re.value.type === 'string') {
      const rx = compileRegex(re.value.value);
      const test = (x: AttrScalar): boolean => typeof x === 'string' && rx.test(x);
      return (s, t) => matchRegex(l(s, t), test, negate);
    }
    // The pattern comes from the span: compile each distinct one once per query, keeping only a
    // bounded number so a query over many distinct values cannot grow without limit.
    const cache = new Map<string, CompiledRegex | null>();
    const lookup = (p: string): CompiledRegex | null => {
      let rx = cache.get(p);
      if (rx !== undefined) return rx;
      try {
        rx = compileRegex(p);
      } catch {
        // The query itself is valid; a value that is not a valid pattern just matches nothing.
        rx = null;
      }
      if (cache.size >= DYNAMIC_REGEX_CACHE) cache.clear();
      cache.set(p, rx);
      return rx;
    };
    return (s, t) => {
      const p = r(s, t);
      if (typeof p !== 'string') return false;
      const rx = lookup(p);
      if (rx === null) return false;
      return matchRegex(l(s, t), (x) => typeof x === 'string' && rx.test(x), negate);
    };
  }

  const cmp = scalarComparator(op);
  const notEqual = op === '!=';
  if (re.kind === 'static') {
    const b = staticVal(re.value) as AttrScalar;
    return (s, t) => {
      const a = l(s, t);
      if (a === undefined || a === null) return false;
      if (Array.isArray(a)) return notEqual ? a.every((x) => cmp(x, b)) && a.length > 0 : a.some((x) => cmp(x, b));
      return cmp(a as AttrScalar, b);
    };
  }
  return (s, t) => {
    const a = l(s, t);
    if (a === undefined || a === null) return false;
    const b = r(s, t);
    if (b === undefined || b === null) return false;
    return compareAny(a, b, cmp, notEqual);
  };
}

function matchRegex(v: Val, test: (x: AttrScalar) => boolean, negate: boolean): boolean {
  if (v === undefined || v === null) return false;
  if (Array.isArray(v)) {
    const strings = v.filter((x) => typeof x === 'string');
    if (strings.length === 0) return false;
    return negate ? !strings.some(test) : strings.some(test);
  }
  if (typeof v !== 'string') return false;
  return negate ? !test(v) : test(v);
}

// Arrays: `=`-like operators match when any element does; `!=` only when no element equals.
function compareAny(a: NonNullable<Val>, b: NonNullable<Val>, cmp: (x: AttrScalar, y: AttrScalar) => boolean, notEqual: boolean): boolean {
  const as = Array.isArray(a) ? (a as readonly AttrScalar[]) : [a as AttrScalar];
  const bs = Array.isArray(b) ? (b as readonly AttrScalar[]) : [b as AttrScalar];
  if (as.length === 0 || bs.length === 0) return false;
  if (notEqual) return as.every((x) => bs.every((y) => cmp(x, y)));
  return as.some((x) => bs.some((y) => cmp(x, y)));
}

function scalarComparator(op: string): (a: AttrScalar, b: AttrScalar) => boolean {
  switch (op) {
    case '=':
      return (a, b) => a === b;
    case '!=':
      return (a, b) => typeof a === typeof b && a !== b;
    case '<':
      return (a, b) => typeof a === typeof b && typeof a !== 'boolean' && a < b;
    case '<=':
      return (a, b) => typeof a === typeof b && typeof a !== 'boolean' && a <= b;
    case '>':
      return (a, b) => typeof a === typeof b && typeof a !== 'boolean' && a > b;
    default:
      return (a, b) => typeof a === typeof b && typeof a !== 'boolean' && a >= b;
  }
}
