import type { DuckDBConnection } from '@duckdb/node-api';
import { INTRINSICS, portablePattern, type Condition, type IntrinsicName, type QueryConditions, type RootExpr, type StaticValue } from '../traceql/index.js';
import { attributeListColumn, CURRENT_FORMAT_VERSION, intrinsicColumn, prefilterDedicatedColumn, type ListScope } from './columns.js';
import { encodeTrace, type SpanBytes } from '../otlp/trace-encode.js';
import { duckdbConnect, interruptOnAbort, sqlString, withDuckDB } from './duckdb.js';
import { PAYLOAD_COLUMNS, payloadsOf } from './payload-columns.js';
import { asSource, type ParquetSource } from './parquet-source.js';
import type { TraceRecord } from '../model/trace-record.js';
import type { SearchOptions } from './block.js';

/**
 * The block side of search: TraceQL conditions become a SQL pre-filter over data.parquet, the
 * matching trace IDs stream out in file (trace ID) order, and only those traces' spans are fetched.
 * Storage only narrows: every predicate here is a necessary condition for a span to match, never a
 * sufficient one, so the evaluator always gets the final say.
 */

/**
 * Attribute keys present in a block, per scope; lets unscoped and unknown attributes be decided up
 * front. Event, link and instrumentation keys are known for blocks of format 2 on.
 */
export interface BlockKeys {
  readonly span: ReadonlySet<string>;
  readonly resource: ReadonlySet<string>;
  readonly event?: ReadonlySet<string>;
  readonly link?: ReadonlySet<string>;
  readonly instrumentation?: ReadonlySet<string>;
}

export interface BlockSearchFilter {
  readonly conditions: QueryConditions;
  /** Unix ns; traces ending before it are skipped. */
  readonly startNs?: bigint;
  /** Unix ns; traces starting after it are skipped. */
  readonly endNs?: bigint;
  /** Trace duration bounds (ns), from minDuration / maxDuration. */
  readonly minTraceDurationNs?: bigint;
  readonly maxTraceDurationNs?: bigint;
  /**
   * A trace needs at least this many pre-filtered spans (from `{…} | count() > n`); the rows arrive
   * grouped by trace, so this is counted while streaming instead of with a blocking GROUP BY.
   */
  readonly minMatchingSpans?: number;
  /** Attribute keys of the block; when given, conditions on absent keys are decided without reading. */
  readonly keys?: BlockKeys;
  /**
   * The block's format version (formatVersion in meta.ts): conditions use only the columns it has.
   * Default: the current one.
   */
  readonly formatVersion?: number;
  /**
   * The whole query, for blocks that evaluate it where the data is (recent data on the ingesters in
   * distributed mode, which answer with the IDs of matching traces); others narrow by `conditions`.
   */
  readonly query?: RootExpr;
}

const TRUE = 'TRUE';
const FALSE = 'FALSE';

/** SQL for one comparison; null when the operator/literal pair cannot be expressed (no pre-filter). */
function compare(col: string, op: Condition['op'], v: StaticValue | undefined, kind: 'string' | 'number'): string | null {
  if (op === 'exists') return `${col} IS NOT NULL`;
  if (v === undefined) return null;
  if (op === '=~' || op === '!~') {
    if (kind !== 'string' || v.type !== 'string') return null;
    // DuckDB's RE2 runs with C++ defaults; portablePattern spells the pattern so it means what TraceQL means.
    const m = `regexp_full_match(${col}, ${sqlString(portablePattern(v.value))})`;
    return op === '=~' ? m : `NOT ${m}`;
  }
  if (kind === 'string') {
    if (v.type !== 'string') return null;
    return `${col} ${op} ${sqlString(v.value)}`;
  }
  if (v.type !== 'int' && v.type !== 'float' && v.type !== 'duration') return null;
  if (!Number.isFinite(v.value)) return null;
  return `${col} ${op} ${numberLiteral(v.value)}`;
}

function numberLiteral(n: number): string {
  return Number.isInteger(n) ? String(n) : `${n}::DOUBLE`;
}

/**
 * Conditions on unsigned columns (durations) with negative literals: decided without reading, since
 * DuckDB cannot cast the literal to UBIGINT.
 */
function unsignedCompare(col: string, op: Condition['op'], v: StaticValue | undefined): string | null {
  if (v !== undefined && (v.type === 'int' || v.type === 'float' || v.type === 'duration') && v.value < 0) {
    return op === '>' || op === '>=' || op === '!=' ? TRUE : op === 'exists' ? TRUE : FALSE;
  }
  return compare(col, op, v, 'number');
}

/**
 * A condition with an integer literal over an int dedicated column, which holds each number's floor
 * clamped to the INTEGER range: `v > L` only implies `floor(v) >= L`, and `!=` (a double just above
 * L, a clamped value, NaN) implies nothing, so that and out-of-range literals use the attribute list.
 * Format 1 blocks truncated doubles toward zero instead (-1.5 as -1), so there `v < L` only implies
 * `trunc(v) <= L`. (They also left integers beyond the INTEGER range, NaN and infinities out.)
 */
function floorColumnCompare(col: string, op: Condition['op'], v: StaticValue | undefined, version: number): string | null {
  if (v?.type !== 'int' || !Number.isInteger(v.value) || v.value > 0x7fffffff || v.value < -0x80000000) return null;
  switch (op) {
    case '=':
    case '>=':
    case '<=':
      return `${col} ${op} ${v.value}`;
    case '<':
      return `${col} ${version >= 2 ? '<' : '<='} ${v.value}`;
    case '>':
      return `${col} >= ${v.value}`;
    default:
      return null;
  }
}

/** Predicate over one element `x` of an attribute list column; arrays and kvlists always stay candidates. */
function listElementPredicate(key: string, op: Condition['op'], v: StaticValue | undefined): string | null {
  const keyed = `x.key = ${sqlString(key)}`;
  if (op === 'exists') return keyed;
  if (v === undefined) return null;
  const loose = `x.type IN ('array', 'kvlist')`;
  let typed: string | null;
  switch (v.type) {
    case 'string':
      typed = op === '=~' || op === '!~' ? compare('x.str', op, v, 'string') : `x.str ${op} ${sqlString(v.value)}`;
      break;
    case 'int':
    case 'float':
    case 'duration':
      if (op === '=~' || op === '!~' || !Number.isFinite(v.value)) return null;
      // Ints and doubles are both JS numbers to the evaluator, so 5 = 5.0.
      typed = `(x.int ${op} ${numberLiteral(v.value)} OR x.dbl ${op} ${numberLiteral(v.value)})`;
      break;
    case 'bool':
      if (op !== '=' && op !== '!=') return null;
      typed = `x.bool ${op} ${v.value}`;
      break;
    default:
      // nil, status and kind literals never equal an attribute.
      return null;
  }
  if (typed === null) return null;
  return `${keyed} AND (${loose} OR ${typed})`;
}

function listPredicate(column: string, key: string, op: Condition['op'], v: StaticValue | undefined): string | null {
  const el = listElementPredicate(key, op, v);
  if (el === null) return null;
  return `len(list_filter(${column}, x -> ${el})) > 0`;
}

function attributePredicate(scope: ListScope, c: Condition, keys: BlockKeys | undefined, version: number): string | null {
  const list = attributeListColumn(scope, version);
  // A block without the scope's column (format 1's events, links, scopes): only the evaluator decides.
  if (list === undefined) return null;
  const known = keys?.[scope];
  if (known !== undefined && !known.has(c.name)) return FALSE;
  if (scope === 'span' || scope === 'resource') {
    const d = prefilterDedicatedColumn(scope, c.name, known);
    // A dedicated column narrows only for literals of its type (other types are stored converted).
    if (d !== undefined && (c.op === 'exists' || c.value?.type === d.valueType)) {
      if (d.valueType === 'string' || c.op === 'exists') return compare(d.column, c.op, c.value, 'string');
      const p = floorColumnCompare(d.column, c.op, c.value, version);
      if (p !== null) return p;
    }
  }
  return listPredicate(list, c.name, c.op, c.value);
}

function intrinsicPredicate(name: IntrinsicName, op: Condition['op'], v: StaticValue | undefined, version: number): string | null {
  const col = intrinsicColumn(name, version);
  // Nested-set numbers are recomputed by the evaluator; links, event times, … are not columns.
  if (col === undefined) return null;
  if (col.list) {
    if (op === '=' && v?.type === 'string') return `list_contains(${col.column}, ${sqlString(v.value)})`;
    if (op === 'exists') return `len(${col.column}) > 0`;
    return null;
  }
  if (col.codes !== undefined) {
    if (v === undefined || (v.type !== 'status' && v.type !== 'kind') || (op !== '=' && op !== '!=')) return null;
    const code = col.codes[v.value];
    return code === undefined ? null : `${col.column} ${op} ${code}`;
  }
  if (col.unsigned) return unsignedCompare(col.column, op, v);
  const kind = INTRINSICS[name].type === 'string' ? 'string' : 'number';
  switch (col.absent) {
    case '':
      return compare(`coalesce(${col.column}, '')`, op, v, kind);
    case 'any': {
      const p = compare(col.column, op, v, kind);
      return p === null ? null : `coalesce(${p}, TRUE)`;
    }
    case 'null':
      return compare(col.column, op, v, kind);
  }
}

/** SQL predicate a span row must satisfy for the condition to hold; null when no pre-filter is possible. */
export function conditionSql(c: Condition, keys?: BlockKeys, version = CURRENT_FORMAT_VERSION): string | null {
  switch (c.scope) {
    case 'intrinsic':
      return intrinsicPredicate(c.name, c.op, c.value, version);
    case 'none': {
      // Unscoped: the span attribute, else the resource attribute of that name.
      const s = attributePredicate('span', c, keys, version);
      const r = attributePredicate('resource', c, keys, version);
      if (s === null || r === null) return null;
      return orSql([s, r]);
    }
    default:
      return attributePredicate(c.scope, c, keys, version);
  }
}

function orSql(parts: readonly string[]): string {
  if (parts.includes(TRUE)) return TRUE;
  const rest = parts.filter((p) => p !== FALSE);
  if (rest.length === 0) return FALSE;
  return rest.length === 1 ? rest[0]! : `(${rest.map((p) => `(${p})`).join(' OR ')})`;
}

function andSql(parts: readonly string[]): string {
  if (parts.includes(FALSE)) return FALSE;
  const rest = parts.filter((p) => p !== TRUE);
  if (rest.length === 0) return TRUE;
  return rest.length === 1 ? rest[0]! : rest.map((p) => `(${p})`).join(' AND ');
}

/** The span-level WHERE clause for a block; 'TRUE' when nothing narrows, 'FALSE' when nothing can match. */
export function filterSql(f: BlockSearchFilter): string {
  const parts: string[] = [];
  const conds = f.conditions.conditions;
  if (conds.length > 0) {
    const each = conds.map((c) => conditionSql(c, f.keys, f.formatVersion));
    if (f.conditions.allConditions) {
      parts.push(andSql(each.filter((p): p is string => p !== null)));
    } else if (!each.includes(null)) {
      parts.push(orSql(each as string[]));
    }
  }
  // Time range and trace duration are trace-level columns, so every row of a trace carries them.
  if (f.startNs !== undefined) parts.push(`trace_end_unix_nano >= ${f.startNs}`);
  if (f.endNs !== undefined) parts.push(`trace_start_unix_nano <= ${f.endNs}`);
  if (f.minTraceDurationNs !== undefined) parts.push(`trace_duration_nano >= ${f.minTraceDurationNs}`);
  if (f.maxTraceDurationNs !== undefined) parts.push(`trace_duration_nano <= ${f.maxTraceDurationNs}`);
  return andSql(parts);
}

/** The query streaming candidate rows (one per pre-filtered span, in trace ID order). */
export function candidateSql(file: string, f: BlockSearchFilter): string | null {
  const where = filterSql(f);
  if (where === FALSE) return null;
  return `SELECT trace_id FROM read_parquet(${sqlString(file)})${where === TRUE ? '' : ` WHERE ${where}`}`;
}

export interface BlockSearchStats {
  /** Traces handed to the caller. */
  inspectedTraces: number;
  /** Encoded bytes of the spans fetched. */
  inspectedBytes: number;
  /** Span rows that passed the pre-filter. */
  candidateRows: number;
}

/**
 * Streams the block's candidate traces in batches: trace IDs from the pre-filter, then all spans of
 * each batch (the evaluator needs whole traces for structure and trace-level values). Stop by
 * returning from the iteration, which ends the DuckDB scan.
 */
export async function* searchBlock(file: string | ParquetSource, filter: BlockSearchFilter, opts: SearchOptions): AsyncGenerator<TraceRecord[]> {
  const stats = opts.stats ?? { inspectedTraces: 0, inspectedBytes: 0, candidateRows: 0 };
  const batchSize = opts.batchSize;
  const src = asSource(file);
  const sql = candidateSql(src.path, filter);
  if (sql === null) return;
  const minRows = Math.max(1, filter.minMatchingSpans ?? 1);
  opts.signal?.throwIfAborted();
  // The filter columns of every row group; the payload of the candidates is fetched per batch.
  const release = await src.prepare(sql);
  let conn: DuckDBConnection;
  try {
    conn = streamIdle.pop() ?? (await duckdbConnect());
  } catch (err) {
    release();
    throw err;
  }
  let finished = false;
  const stopInterrupt = interruptOnAbort(conn, opts.signal);
  try {
    const res = await conn.stream(sql);
    let pending: string[] = [];
    let current = '';
    let count = 0;
    const flushCurrent = (): void => {
      if (current !== '' && count >= minRows) pending.push(current);
    };
    for (;;) {
      opts.signal?.throwIfAborted();
      const chunk = await res.fetchChunk();
      if (chunk === null || chunk.rowCount === 0) break;
      const ids = chunk.getColumnValues(0);
      stats.candidateRows += chunk.rowCount;
      for (let i = 0; i < chunk.rowCount; i++) {
        const id = ids[i] as string;
        if (id === current) {
          count++;
          continue;
        }
        flushCurrent();
        current = id;
        count = 1;
      }
      while (pending.length >= Math.max(1, batchSize())) {
        const n = Math.max(1, batchSize());
        const batch = pending.slice(0, n);
        pending = pending.slice(n);
        yield await fetchTraces(src, batch, stats, opts.signal);
      }
    }
    flushCurrent();
    while (pending.length > 0) {
      const n = Math.max(1, batchSize());
      const batch = pending.slice(0, n);
      pending = pending.slice(n);
      yield await fetchTraces(src, batch, stats, opts.signal);
    }
    finished = true;
  } catch (err) {
    throw opts.signal?.aborted === true ? opts.signal.reason : err;
  } finally {
    stopInterrupt();
    release();
    // A scan stopped early may leave a pending result behind: that connection is not reused.
    if (finished && streamIdle.length < MAX_STREAM_IDLE) streamIdle.push(conn);
    else conn.closeSync();
  }
}

// Candidate scans hold their connection while batches are fetched on the shared pool, so they keep a
// small pool of their own; a fresh connection per block was a visible share of a fast search.
const streamIdle: DuckDBConnection[] = [];
const MAX_STREAM_IDLE = 2;

/** Whole traces by ID; trace_id is sorted, so row-group statistics keep the scan to where they sit. */
export async function fetchTraces(
  file: string | ParquetSource,
  traceIds: readonly string[],
  stats?: BlockSearchStats,
  signal?: AbortSignal,
): Promise<TraceRecord[]> {
  if (traceIds.length === 0) return [];
  const src = asSource(file);
  const list = traceIds.map(sqlString).join(', ');
  const sql = `SELECT trace_id, ${PAYLOAD_COLUMNS} FROM read_parquet(${sqlString(src.path)}) ` + `WHERE trace_id IN (${list})`;
  const release = await src.prepare(sql, traceIds);
  let spans: Map<string, SpanBytes[]>;
  try {
    spans = await withDuckDB((conn) => readSpans(conn, sql), signal);
  } finally {
    release();
  }
  const out: TraceRecord[] = [];
  for (const id of traceIds) {
    const s = spans.get(id);
    if (s === undefined) continue;
    const trace = encodeTrace(s);
    if (stats !== undefined) {
      stats.inspectedTraces++;
      stats.inspectedBytes += trace.byteLength;
    }
    out.push({ traceId: id, trace });
  }
  return out;
}

async function readSpans(conn: DuckDBConnection, sql: string): Promise<Map<string, SpanBytes[]>> {
  const res = await conn.run(sql);
  const out = new Map<string, SpanBytes[]>();
  for (;;) {
    const chunk = await res.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    const ids = chunk.getColumnValues(0);
    const payloads = payloadsOf(chunk, 1);
    for (let i = 0; i < chunk.rowCount; i++) {
      const id = ids[i] as string;
      let list = out.get(id);
      if (list === undefined) out.set(id, (list = []));
      list.push(payloads[i]!);
    }
  }
  return out;
}
