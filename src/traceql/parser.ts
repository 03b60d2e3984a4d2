import type {
  AggregateFn,
  ArithmeticOp,
  FieldBinaryOp,
  FieldExpr,
  Hint,
  MetricsAggregation,
  MetricsExpr,
  MetricsFn,
  MetricsSecondStage,
  Pipeline,
  PipelineStage,
  RootExpr,
  ScalarExpr,
  ScalarFilter,
  ScalarFilterOp,
  SpansetExpr,
  SpansetOp,
  StaticValue,
  KindName,
  StatusName,
} from './ast.js';
import { TraceQLParseError, positionAt } from './errors.js';
import { tokenize, type Token } from './lexer.js';
import { BARE_INTRINSICS } from './intrinsics.js';
import { DEFAULT_PARSE_LIMITS, type ParseLimits } from './limits.js';

/**
 * The query is first read into a loose tree of pipeline stages whose operators are not yet given a
 * meaning (`>` is "greater than" between aggregates but "child" between spansets), then each part is
 * classified into the strict AST. This keeps the grammar's many overlapping forms (spanset pipelines,
 * scalar filters, metrics pipelines, metrics math) out of a backtracking parser.
 */
type Loose =
  | { readonly k: 'filter'; readonly expr: FieldExpr; readonly pos: number }
  | { readonly k: 'paren'; readonly stages: readonly Loose[]; readonly pos: number }
  | { readonly k: 'num'; readonly value: StaticValue; readonly pos: number }
  | { readonly k: 'agg'; readonly fn: AggregateFn; readonly expr: FieldExpr | null; readonly pos: number }
  | { readonly k: 'group'; readonly expr: FieldExpr; readonly pos: number }
  | { readonly k: 'coalesce'; readonly pos: number }
  | { readonly k: 'select'; readonly exprs: readonly FieldExpr[]; readonly pos: number }
  | { readonly k: 'metrics'; readonly agg: MetricsAggregation; readonly pos: number }
  | { readonly k: 'second'; readonly fn: 'topk' | 'bottomk'; readonly n: number; readonly pos: number }
  | { readonly k: 'bin'; readonly op: string; readonly lhs: Loose; readonly rhs: Loose; readonly pos: number };

const STAGE_LEVELS: readonly (readonly string[])[] = [
  ['||'],
  ['&&'],
  ['=', '!=', '<', '<=', '>', '>=', '=~', '!~', '>>', '<<', '~', '!>', '!<', '!>>', '!<<', '&>', '&<', '&>>', '&<<', '&~'],
  ['+', '-'],
  ['*', '/', '%'],
];
const FIELD_LEVELS: readonly (readonly string[])[] = [['||'], ['&&'], ['=', '!=', '<', '<=', '>', '>=', '=~', '!~'], ['+', '-'], ['*', '/', '%']];
const SPANSET_OPS = new Set<string>(['&&', '||', '>', '<', '>>', '<<', '~', '!>', '!<', '!>>', '!<<', '!~', '&>', '&<', '&>>', '&<<', '&~']);
const SCALAR_FILTER_OPS = new Set<string>(['=', '!=', '<', '<=', '>', '>=']);
const ARITHMETIC_OPS = new Set<string>(['+', '-', '*', '/', '%', '^']);
const AGGREGATES = new Set<string>(['count', 'min', 'max', 'avg', 'sum']);
const METRICS_FNS = new Set<string>([
  'rate',
  'count_over_time',
  'min_over_time',
  'max_over_time',
  'avg_over_time',
  'sum_over_time',
  'quantile_over_time',
  'histogram_over_time',
  'compare',
]);
const STATUSES = new Set<string>(['ok', 'error', 'unset']);
const KINDS = new Set<string>(['unspecified', 'internal', 'server', 'client', 'producer', 'consumer']);

/**
 * Parses a TraceQL query. Throws TraceQLParseError (also for queries beyond `limits`); call
 * validate() before trusting the result.
 */
export function parse(query: string, limits: ParseLimits = DEFAULT_PARSE_LIMITS): RootExpr {
  // Checked before anything else so that a huge text costs no more than its length.
  if (query.length > limits.maxQueryBytes || Buffer.byteLength(query, 'utf8') > limits.maxQueryBytes) {
    throw new TraceQLParseError(
      `TraceQL expression exceeds the maximum size of ${limits.maxQueryBytes} bytes (${Buffer.byteLength(query, 'utf8')} bytes)`,
      positionAt(query, 0),
    );
  }
  return new Parser(query, limits).parseRoot();
}

class Parser {
  private readonly toks: Token[];
  private i = 0;
  /** Parser recursion levels open right now (parentheses, braces, unary operators, `^`). */
  private nesting = 0;
  /** Height of every tree node built so far; a node absent here is a leaf (height 1). */
  private readonly heights = new WeakMap<object, number>();

  constructor(
    private readonly text: string,
    private readonly limits: ParseLimits,
  ) {
    this.toks = tokenize(text);
  }

  // ---- depth limits ----

  private enter(pos: number): void {
    if (++this.nesting > this.limits.maxNesting) {
      this.fail(`expression nests too deeply (more than ${this.limits.maxNesting} levels of parentheses, braces or unary operators)`, pos);
    }
  }
  private leave(): void {
    this.nesting--;
  }
  /** Records the height of a new node over its children; refuses trees taller than maxDepth. */
  private node<T extends object>(n: T, pos: number, children: readonly (object | null)[]): T {
    let h = 0;
    for (const c of children) if (c !== null) h = Math.max(h, this.heights.get(c) ?? 1);
    if (h + 1 > this.limits.maxDepth) {
      this.fail(`expression is too deep (more than ${this.limits.maxDepth} nested operators, e.g. a very long chain of && or ||)`, pos);
    }
    this.heights.set(n, h + 1);
    return n;
  }

  // ---- token helpers ----

  private peek(ahead = 0): Token {
    return this.toks[Math.min(this.i + ahead, this.toks.length - 1)]!;
  }
  private next(): Token {
    const t = this.peek();
    if (this.i < this.toks.length - 1) this.i++;
    return t;
  }
  private fail(msg: string, pos: number = this.peek().pos): never {
    throw new TraceQLParseError(msg, positionAt(this.text, pos));
  }
  private isPunct(v: string, t: Token = this.peek()): boolean {
    return t.t === 'punct' && t.v === v;
  }
  private isOp(v: string, t: Token = this.peek()): boolean {
    return t.t === 'op' && t.v === v;
  }
  private isIdent(v: string, t: Token = this.peek()): boolean {
    return t.t === 'ident' && t.v === v;
  }
  private expectPunct(v: string): void {
    if (!this.isPunct(v)) this.fail(`expected "${v}", found ${describe(this.peek())}`);
    this.next();
  }

  // ---- root ----

  parseRoot(): RootExpr {
    const stages = this.parseStages();
    const hints = this.isIdent('with') ? this.parseHints() : [];
    if (this.peek().t !== 'eof') this.fail(`unexpected ${describe(this.peek())}`);
    return this.classifyRoot(stages, hints);
  }

  private parseHints(): Hint[] {
    this.next();
    this.expectPunct('(');
    const hints: Hint[] = [];
    for (;;) {
      const key = this.next();
      if (key.t !== 'ident') this.fail(`hint name expected, found ${describe(key)}`, key.pos);
      if (!this.isOp('=')) this.fail('expected "=" after hint name');
      this.next();
      const v = this.parseField();
      const value = v.kind === 'static' ? v.value : v.kind === 'unary' && v.op === '-' && v.expr.kind === 'static' ? negate(v.expr.value) : null;
      if (value === null) this.fail('hint value must be a literal', key.pos);
      hints.push({ name: (key as { v: string }).v, value: value! });
      if (this.isPunct(',')) {
        this.next();
        continue;
      }
      this.expectPunct(')');
      return hints;
    }
  }

  private parseStages(): Loose[] {
    const stages = [this.parseStage(0)];
    while (this.isPunct('|')) {
      this.next();
      stages.push(this.parseStage(0));
    }
    return stages;
  }

  private parseStage(level: number): Loose {
    if (level === STAGE_LEVELS.length) return this.parseStagePow();
    let lhs = this.parseStage(level + 1);
    for (;;) {
      const t = this.peek();
      if (t.t !== 'op' || !STAGE_LEVELS[level]!.includes(t.v)) return lhs;
      this.next();
      const rhs = this.parseStage(level + 1);
      lhs = this.node<Loose>({ k: 'bin', op: t.v, lhs, rhs, pos: t.pos }, t.pos, [lhs, rhs]);
    }
  }

  private parseStagePow(): Loose {
    const base = this.parseStagePrimary();
    if (this.isOp('^')) {
      const t = this.next();
      this.enter(t.pos);
      const rhs = this.parseStagePow();
      this.leave();
      return this.node<Loose>({ k: 'bin', op: '^', lhs: base, rhs, pos: t.pos }, t.pos, [base, rhs]);
    }
    return base;
  }

  private parseStagePrimary(): Loose {
    const t = this.peek();
    if (this.isPunct('{')) {
      const expr = this.parseBraces();
      return this.node<Loose>({ k: 'filter', expr, pos: t.pos }, t.pos, [expr]);
    }
    if (this.isPunct('(')) {
      this.next();
      this.enter(t.pos);
      const stages = this.parseStages();
      this.leave();
      this.expectPunct(')');
      return this.node<Loose>({ k: 'paren', stages, pos: t.pos }, t.pos, stages);
    }
    if (t.t === 'int' || t.t === 'float' || t.t === 'duration') {
      this.next();
      return { k: 'num', value: { type: t.t, value: t.v }, pos: t.pos };
    }
    if (this.isOp('-')) {
      const n = this.peek(1);
      if (n.t === 'int' || n.t === 'float' || n.t === 'duration') {
        this.next();
        this.next();
        return { k: 'num', value: { type: n.t, value: -n.v }, pos: t.pos };
      }
      this.fail('unexpected "-"');
    }
    if (t.t === 'ident') {
      if (AGGREGATES.has(t.v)) return this.parseAggregate();
      if (METRICS_FNS.has(t.v)) return this.parseMetricsFn();
      switch (t.v) {
        case 'by': {
          this.next();
          this.expectPunct('(');
          const expr = this.parseField();
          this.expectPunct(')');
          return this.node<Loose>({ k: 'group', expr, pos: t.pos }, t.pos, [expr]);
        }
        case 'coalesce':
          this.next();
          this.expectPunct('(');
          this.expectPunct(')');
          return { k: 'coalesce', pos: t.pos };
        case 'select': {
          this.next();
          this.expectPunct('(');
          const exprs = this.parseFieldList(true);
          this.expectPunct(')');
          return this.node<Loose>({ k: 'select', exprs, pos: t.pos }, t.pos, exprs);
        }
        case 'topk':
        case 'bottomk': {
          this.next();
          this.expectPunct('(');
          const n = this.next();
          if (n.t !== 'int') this.fail(`${t.v}() takes a non-negative integer`, n.pos);
          this.expectPunct(')');
          return { k: 'second', fn: t.v, n: (n as { v: number }).v, pos: t.pos };
        }
      }
    }
    return this.fail(`unexpected ${describe(t)}`);
  }

  private parseAggregate(): Loose {
    const t = this.next() as { v: string; pos: number };
    const fn = t.v as AggregateFn;
    this.expectPunct('(');
    let expr: FieldExpr | null = null;
    if (fn !== 'count') expr = this.parseField();
    this.expectPunct(')');
    return this.node<Loose>({ k: 'agg', fn, expr, pos: t.pos }, t.pos, [expr]);
  }

  private parseMetricsFn(): Loose {
    const t = this.next() as { v: string; pos: number };
    const fn = t.v as MetricsFn;
    this.expectPunct('(');
    let attr: FieldExpr | null = null;
    const quantiles: number[] = [];
    let compareFilter: SpansetExpr | null = null;
    const compareArgs: number[] = [];
    switch (fn) {
      case 'rate':
      case 'count_over_time':
        break;
      case 'compare': {
        if (!this.isPunct('{')) this.fail('compare() takes a spanset filter');
        compareFilter = { kind: 'filter', expr: this.parseBraces() };
        while (this.isPunct(',')) {
          this.next();
          const n = this.next();
          if (n.t !== 'int') this.fail('compare() parameters must be integers', n.pos);
          compareArgs.push((n as { v: number }).v);
        }
        if (compareArgs.length > 3) this.fail('compare() takes at most 3 parameters', t.pos);
        break;
      }
      default: {
        attr = this.parseAttributeField();
        if (fn === 'quantile_over_time') {
          if (!this.isPunct(',')) this.fail('quantile_over_time() needs at least one quantile');
          while (this.isPunct(',')) {
            this.next();
            const neg = this.isOp('-');
            if (neg) this.next();
            const n = this.next();
            // `.5` lexes as an unscoped attribute named 5; as a quantile it is the number 0.5.
            if (n.t === 'attr' && n.scope === 'none' && !n.parent && /^\d+$/.test(n.name)) {
              quantiles.push((neg ? -1 : 1) * Number(`0.${n.name}`));
              continue;
            }
            if (n.t !== 'int' && n.t !== 'float') this.fail('quantiles must be numbers', n.pos);
            const v = (n as { v: number }).v;
            quantiles.push(neg ? -v : v);
          }
        }
      }
    }
    this.expectPunct(')');
    let by: FieldExpr[] = [];
    if (this.isIdent('by')) {
      this.next();
      this.expectPunct('(');
      by = this.parseFieldList(true);
      this.expectPunct(')');
    }
    const agg: MetricsAggregation = { kind: 'metricsAggregation', fn, attr, quantiles, compareFilter, compareArgs, by };
    return this.node<Loose>({ k: 'metrics', agg, pos: t.pos }, t.pos, [attr, compareFilter?.expr ?? null, ...by]);
  }

  private parseAttributeField(): FieldExpr {
    const pos = this.peek().pos;
    const f = this.parseFieldPrimary();
    if (f.kind !== 'attribute' && f.kind !== 'intrinsic') this.fail('attribute or intrinsic expected', pos);
    return f;
  }

  private parseFieldList(attributesOnly: boolean): FieldExpr[] {
    const out: FieldExpr[] = [];
    for (;;) {
      out.push(attributesOnly ? this.parseAttributeField() : this.parseField());
      if (!this.isPunct(',')) return out;
      this.next();
    }
  }

  // ---- field expressions (inside braces and function arguments) ----

  private parseBraces(): FieldExpr {
    const pos = this.peek().pos;
    this.expectPunct('{');
    if (this.isPunct('}')) {
      this.next();
      return { kind: 'static', value: { type: 'bool', value: true } };
    }
    this.enter(pos);
    const expr = this.parseField();
    this.leave();
    this.expectPunct('}');
    return expr;
  }

  private parseField(level = 0): FieldExpr {
    if (level === FIELD_LEVELS.length) return this.parseFieldUnary();
    let lhs = this.parseField(level + 1);
    for (;;) {
      const t = this.peek();
      if (t.t !== 'op' || !FIELD_LEVELS[level]!.includes(t.v)) return lhs;
      this.next();
      const rhs = this.parseField(level + 1);
      lhs = this.node<FieldExpr>({ kind: 'binary', op: t.v as FieldBinaryOp, lhs, rhs }, t.pos, [lhs, rhs]);
    }
  }

  private parseFieldUnary(): FieldExpr {
    if (this.isOp('-') || this.isOp('!')) {
      const t = this.next() as { v: string; pos: number };
      this.enter(t.pos);
      const expr = this.parseFieldUnary();
      this.leave();
      return this.node<FieldExpr>({ kind: 'unary', op: t.v as '-' | '!', expr }, t.pos, [expr]);
    }
    const base = this.parseFieldPrimary();
    if (this.isOp('^')) {
      const t = this.next();
      this.enter(t.pos);
      const rhs = this.parseFieldUnary();
      this.leave();
      return this.node<FieldExpr>({ kind: 'binary', op: '^', lhs: base, rhs }, t.pos, [base, rhs]);
    }
    return base;
  }

  private parseFieldPrimary(): FieldExpr {
    const t = this.next();
    switch (t.t) {
      case 'punct':
        if (t.v === '(') {
          this.enter(t.pos);
          const e = this.parseField();
          this.leave();
          this.expectPunct(')');
          return e;
        }
        break;
      case 'string':
        return { kind: 'static', value: { type: 'string', value: t.v } };
      case 'int':
      case 'float':
      case 'duration':
        return { kind: 'static', value: { type: t.t, value: t.v } };
      case 'attr':
        return { kind: 'attribute', scope: t.scope, name: t.name, parent: t.parent };
      case 'intrinsic':
        return { kind: 'intrinsic', name: t.name, text: t.text };
      case 'ident': {
        const v = t.v;
        if (v === 'true' || v === 'false') return { kind: 'static', value: { type: 'bool', value: v === 'true' } };
        if (v === 'nil') return { kind: 'static', value: { type: 'nil' } };
        if (STATUSES.has(v)) return { kind: 'static', value: { type: 'status', value: v as StatusName } };
        if (KINDS.has(v)) return { kind: 'static', value: { type: 'kind', value: v as KindName } };
        const intrinsic = BARE_INTRINSICS[v];
        if (intrinsic !== undefined) return { kind: 'intrinsic', name: intrinsic, text: v };
        this.fail(`unknown identifier "${v}" (attributes need a scope: ".${v}", "span.${v}", "resource.${v}")`, t.pos);
      }
    }
    return this.fail(`unexpected ${describe(t)}`, t.pos);
  }

  // ---- classification of the loose tree ----

  private classifyRoot(stages: readonly Loose[], hints: Hint[]): RootExpr {
    const first = stages[0]!;
    if (containsWrapped(first, 'metrics') || stages.some(isMetricsStage)) {
      return { kind: 'metricsQuery', metrics: this.metricsFromStages(stages), hints };
    }
    if (containsWrapped(first, 'scalar')) {
      if (stages.length > 1) this.fail('a scalar pipeline comparison cannot be followed by a pipeline', stages[1]!.pos);
      return { kind: 'scalarPipelineQuery', filter: this.scalarPipelineFilter(first), hints };
    }
    return { kind: 'spansetQuery', pipeline: this.toPipeline(stages), hints };
  }

  private metricsFromStages(stages: readonly Loose[]): MetricsExpr {
    const first = stages[0]!;
    if (containsWrapped(first, 'metrics')) {
      const expr = this.metricsMathWithFilter(first);
      const rest = this.secondStages(stages.slice(1));
      return rest.length === 0 ? expr : { kind: 'metricsStaged', expr, stages: rest };
    }
    const m = stages.findIndex(isMetricsStage);
    if (m <= 0) this.fail('a metrics function needs a spanset selection before it', stages[Math.max(m, 0)]!.pos);
    const pipeline = this.toPipeline(stages.slice(0, m));
    const ms = stages[m]!;
    const own: MetricsSecondStage[] = [];
    let agg: MetricsAggregation;
    if (ms.k === 'metrics') {
      agg = ms.agg;
    } else if (ms.k === 'bin' && ms.lhs.k === 'metrics') {
      agg = ms.lhs.agg;
      own.push({ kind: 'metricsFilter', op: ms.op as ScalarFilterOp, value: this.constant(ms.rhs, true) });
    } else {
      return this.fail('metrics function expected', ms.pos);
    }
    return { kind: 'metricsPipeline', pipeline, aggregation: agg, stages: [...own, ...this.secondStages(stages.slice(m + 1))] };
  }

  private secondStages(stages: readonly Loose[]): MetricsSecondStage[] {
    const out: MetricsSecondStage[] = [];
    for (const s of stages) {
      if (s.k === 'second') {
        out.push({ kind: s.fn, k: s.n });
      } else if (s.k === 'bin' && SCALAR_FILTER_OPS.has(s.op) && s.lhs.k === 'second') {
        out.push({ kind: s.lhs.fn, k: s.lhs.n });
        out.push({ kind: 'metricsFilter', op: s.op as ScalarFilterOp, value: this.constant(s.rhs, true) });
      } else {
        this.fail('only topk() or bottomk() may follow a metrics function', s.pos);
      }
    }
    return out;
  }

  private metricsMathWithFilter(n: Loose): MetricsExpr {
    if (n.k === 'bin' && SCALAR_FILTER_OPS.has(n.op)) {
      const expr = this.metricsMath(n.lhs);
      return { kind: 'metricsStaged', expr, stages: [{ kind: 'metricsFilter', op: n.op as ScalarFilterOp, value: this.constant(n.rhs, true) }] };
    }
    return this.metricsMath(n);
  }

  private metricsMath(n: Loose): MetricsExpr {
    switch (n.k) {
      case 'paren':
        if (pipeKind(n.stages) === 'metrics') return this.metricsFromStages(n.stages);
        if (n.stages.length === 1) return this.metricsMath(n.stages[0]!);
        break;
      case 'num':
        if (n.value.type === 'duration') this.fail('durations cannot be used in metrics arithmetic', n.pos);
        return { kind: 'metricsScalar', value: (n.value as { value: number }).value };
      case 'bin':
        if (n.op === '+' || n.op === '-' || n.op === '*' || n.op === '/') {
          return { kind: 'metricsMath', op: n.op, lhs: this.metricsMath(n.lhs), rhs: this.metricsMath(n.rhs) };
        }
        this.fail(`operator "${n.op}" cannot combine metrics`, n.pos);
    }
    return this.fail('metrics pipelines must be wrapped in parentheses to be combined', n.pos);
  }

  /** Folds a literal expression (right-hand side of a metrics comparison). */
  private constant(n: Loose, allowBareDuration: boolean): StaticValue {
    if (n.k === 'num') {
      if (n.value.type === 'duration' && !allowBareDuration) this.fail('durations cannot be used in metrics arithmetic', n.pos);
      return n.value;
    }
    if (n.k === 'paren' && n.stages.length === 1) return this.constant(n.stages[0]!, false);
    if (n.k === 'bin' && (n.op === '+' || n.op === '-' || n.op === '*' || n.op === '/')) {
      const l = this.constant(n.lhs, false) as { type: 'int' | 'float'; value: number };
      const r = this.constant(n.rhs, false) as { type: 'int' | 'float'; value: number };
      const v = n.op === '+' ? l.value + r.value : n.op === '-' ? l.value - r.value : n.op === '*' ? l.value * r.value : l.value / r.value;
      return l.type === 'int' && r.type === 'int' && Number.isInteger(v) && n.op !== '/' ? { type: 'int', value: v } : { type: 'float', value: v };
    }
    return this.fail('a number is expected here', n.pos);
  }

  private scalarPipelineFilter(n: Loose): ScalarFilter {
    if (n.k !== 'bin' || !SCALAR_FILTER_OPS.has(n.op)) this.fail('a scalar pipeline must be compared to a value', n.pos);
    const b = n as Extract<Loose, { k: 'bin' }>;
    const lhs = this.scalarPipelineExpr(b.lhs);
    const rhs: ScalarExpr = b.rhs.k === 'num' ? { kind: 'scalarStatic', value: b.rhs.value } : this.scalarPipelineExpr(b.rhs);
    return { kind: 'scalarFilter', op: b.op as ScalarFilterOp, lhs, rhs };
  }

  private scalarPipelineExpr(n: Loose): ScalarExpr {
    if (n.k === 'paren') {
      if (pipeKind(n.stages) === 'scalar') {
        const last = n.stages[n.stages.length - 1]!;
        return { kind: 'scalarPipeline', pipeline: this.toPipeline(n.stages.slice(0, -1)), aggregate: this.toScalarExpr(last) };
      }
      if (n.stages.length === 1) return this.scalarPipelineExpr(n.stages[0]!);
    }
    if (n.k === 'bin' && ARITHMETIC_OPS.has(n.op)) {
      return { kind: 'scalarBinary', op: n.op as ArithmeticOp, lhs: this.scalarPipelineExpr(n.lhs), rhs: this.scalarPipelineExpr(n.rhs) };
    }
    return this.fail('wrapped scalar pipeline expected', n.pos);
  }

  private toPipeline(stages: readonly Loose[]): Pipeline {
    const first = stages[0]!;
    if (first.k === 'coalesce') this.fail('a pipeline cannot start with coalesce()', first.pos);
    return { stages: stages.map((s) => this.toStage(s)) };
  }

  private toStage(n: Loose): PipelineStage {
    switch (n.k) {
      case 'group':
        return { kind: 'groupBy', expr: n.expr };
      case 'coalesce':
        return { kind: 'coalesce' };
      case 'select':
        return { kind: 'select', exprs: n.exprs };
      case 'agg':
        return this.fail('an aggregate must be compared to a value', n.pos);
      case 'second':
        return this.fail(`${n.fn}() needs a metrics function before it`, n.pos);
      case 'metrics':
        return this.fail('a metrics function must be the last part of a query', n.pos);
      case 'bin':
        if (SCALAR_FILTER_OPS.has(n.op) && isScalarish(n.lhs)) {
          const lhs = this.toScalarExpr(n.lhs);
          const rhs = this.toScalarExpr(n.rhs);
          if (!hasAggregate(lhs) && !hasAggregate(rhs)) this.fail('a scalar filter needs an aggregate', n.pos);
          return { kind: 'scalarFilter', op: n.op as ScalarFilterOp, lhs, rhs };
        }
    }
    return this.toSpanset(n);
  }

  private toScalarExpr(n: Loose): ScalarExpr {
    switch (n.k) {
      case 'agg':
        return { kind: 'aggregate', fn: n.fn, expr: n.expr };
      case 'num':
        return { kind: 'scalarStatic', value: n.value };
      case 'paren':
        if (n.stages.length === 1) return this.toScalarExpr(n.stages[0]!);
        break;
      case 'bin':
        if (ARITHMETIC_OPS.has(n.op)) {
          return { kind: 'scalarBinary', op: n.op as ArithmeticOp, lhs: this.toScalarExpr(n.lhs), rhs: this.toScalarExpr(n.rhs) };
        }
    }
    return this.fail('a number or an aggregate is expected here', n.pos);
  }

  private toSpanset(n: Loose): SpansetExpr {
    switch (n.k) {
      case 'filter':
        return { kind: 'filter', expr: n.expr };
      case 'paren': {
        if (pipeKind(n.stages) !== 'spanset') break;
        if (n.stages.length === 1) {
          const s = n.stages[0]!;
          if (s.k === 'filter' || s.k === 'paren' || (s.k === 'bin' && SPANSET_OPS.has(s.op))) return this.toSpanset(s);
        }
        return { kind: 'pipeline', pipeline: this.toPipeline(n.stages) };
      }
      case 'bin':
        if (SPANSET_OPS.has(n.op)) {
          return { kind: 'spansetOp', op: n.op as SpansetOp, lhs: this.toSpanset(n.lhs), rhs: this.toSpanset(n.rhs) };
        }
        return this.fail(`operator "${n.op}" cannot combine spansets`, n.pos);
    }
    return this.fail('a spanset expression is expected here', n.pos);
  }
}

function isMetricsStage(n: Loose): boolean {
  return n.k === 'metrics' || (n.k === 'bin' && SCALAR_FILTER_OPS.has(n.op) && n.lhs.k === 'metrics');
}

// pipeKind looks into nested parentheses twice (for metrics, then for scalar) at every level:
// remembered per group, or nested parentheses would cost 2^depth.
const pipeKinds = new WeakMap<readonly Loose[], 'metrics' | 'scalar' | 'spanset'>();

function pipeKind(stages: readonly Loose[]): 'metrics' | 'scalar' | 'spanset' {
  let kind = pipeKinds.get(stages);
  if (kind === undefined) {
    kind = pipeKindOf(stages);
    pipeKinds.set(stages, kind);
  }
  return kind;
}

function pipeKindOf(stages: readonly Loose[]): 'metrics' | 'scalar' | 'spanset' {
  if (stages.some(isMetricsStage) || containsWrapped(stages[0]!, 'metrics')) return 'metrics';
  if (stages.length >= 2 && stages[stages.length - 1]!.k === 'agg') return 'scalar';
  if (stages.length === 1 && containsWrapped(stages[0]!, 'scalar')) return 'scalar';
  return 'spanset';
}

function containsWrapped(n: Loose, kind: 'metrics' | 'scalar'): boolean {
  if (n.k === 'paren') return pipeKind(n.stages) === kind;
  if (n.k === 'bin') return containsWrapped(n.lhs, kind) || containsWrapped(n.rhs, kind);
  return false;
}

function isScalarish(n: Loose): boolean {
  switch (n.k) {
    case 'agg':
    case 'num':
      return true;
    case 'paren':
      return n.stages.length === 1 && isScalarish(n.stages[0]!);
    case 'bin':
      return ARITHMETIC_OPS.has(n.op) && isScalarish(n.lhs);
    default:
      return false;
  }
}

function hasAggregate(e: ScalarExpr): boolean {
  if (e.kind === 'aggregate') return true;
  if (e.kind === 'scalarBinary') return hasAggregate(e.lhs) || hasAggregate(e.rhs);
  return false;
}

function negate(v: StaticValue): StaticValue | null {
  if (v.type === 'int' || v.type === 'float' || v.type === 'duration') return { type: v.type, value: -v.value };
  return null;
}

function describe(t: Token): string {
  switch (t.t) {
    case 'eof':
      return 'end of query';
    case 'punct':
    case 'op':
      return `"${t.v}"`;
    case 'string':
      return `string ${JSON.stringify(t.v)}`;
    case 'ident':
      return `"${t.v}"`;
    case 'attr':
      return `attribute "${t.name}"`;
    case 'intrinsic':
      return `"${t.text}"`;
    default:
      return `number ${t.v}`;
  }
}
