import { asSource, type ParquetSource } from './parquet-source.js';
import type { ColumnarField, ColumnarGroup, ColumnarPlan, Condition } from '../traceql/index.js';
import { exactDedicatedColumn, intrinsicColumn } from './columns.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlString, withDuckDB } from './duckdb.js';
import type { BlockKeys } from './search.js';

/**
 * TraceQL metrics pushed into a Parquet block: a columnar plan (see traceql/metrics-plan.ts) becomes
 * one SQL GROUP BY over series values, interval and log2 bucket, so DuckDB counts the spans and only
 * the groups come back. Only what the columns answer exactly is pushed down (intrinsic columns,
 * dedicated columns of one key); anything else returns null and the querier evaluates traces instead.
 */

export interface BlockMetricsQuery {
  /** The aligned range, unix ns: spans starting in (startNs, endNs] count. */
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly stepNs: bigint;
  readonly instant: boolean;
  /** Spans wanted for exemplars (returned as groups of count 0); 0 or absent: none. */
  readonly exemplars?: number;
  /** Spans counted elsewhere already (recent data), by trace ID. */
  readonly exclude?: ReadonlyMap<string, ReadonlySet<string>>;
  readonly signal?: AbortSignal;
}

/** Above this many excluded spans the SQL list gets unwieldy: the block declines the plan. */
const MAX_EXCLUDED_SPANS = 20_000;

const STATUS_NAMES = ['unset', 'ok', 'error'];
const KIND_NAMES = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

interface Column {
  readonly sql: string;
  /** Turns the column's value into the value TraceQL sees. */
  readonly read: (v: unknown) => string | number | boolean | undefined;
}

const asString = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));

/** The column holding exactly a field's value (absent as NULL), or null. */
function columnOf(f: ColumnarField, keys: BlockKeys): Column | null {
  if (f.kind === 'intrinsic') {
    const c = intrinsicColumn(f.name);
    if (c === undefined || c.list === true || c.absent === 'any') return null;
    if (f.name === 'status') return { sql: c.column, read: (v) => STATUS_NAMES[Number(v)] ?? 'unset' };
    if (f.name === 'kind') return { sql: c.column, read: (v) => KIND_NAMES[Number(v)] ?? 'unspecified' };
    if (f.name === 'duration') return { sql: c.column, read: (v) => Number(v) };
    return { sql: c.absent === '' ? `coalesce(${c.column}, '')` : c.column, read: asString };
  }
  const known = f.scope === 'span' ? keys.span : keys.resource;
  // An attribute the block never has: every span lacks it.
  if (!known.has(f.name)) return { sql: 'NULL', read: () => undefined };
  const d = exactDedicatedColumn(f.scope, f.name, known);
  if (d === undefined || d.valueType !== 'string') return null;
  return { sql: d.column, read: asString };
}

function literalSql(v: Condition['value']): string | null {
  if (v === undefined) return null;
  switch (v.type) {
    case 'string':
      return sqlString(v.value);
    case 'int':
    case 'float':
    case 'duration':
      return Number.isFinite(v.value) ? (Number.isInteger(v.value) ? String(v.value) : `${v.value}::DOUBLE`) : null;
    default:
      return null;
  }
}

/** An exact SQL predicate for a condition, or null when the columns cannot decide it exactly. */
function conditionSql(c: Condition, keys: BlockKeys): string | null {
  if (c.scope === 'intrinsic') {
    const col = intrinsicColumn(c.name);
    if (col === undefined || col.list === true || col.absent === 'any') return null;
    if (col.codes !== undefined) {
      if (c.value === undefined || (c.value.type !== 'status' && c.value.type !== 'kind') || (c.op !== '=' && c.op !== '!=')) return null;
      const code = col.codes[c.value.value];
      return code === undefined ? null : `${col.column} ${c.op} ${code}`;
    }
    const numeric = c.name === 'duration';
    if (numeric !== (c.value?.type === 'int' || c.value?.type === 'float' || c.value?.type === 'duration')) return null;
    if (numeric && c.value !== undefined && 'value' in c.value && typeof c.value.value === 'number' && c.value.value < 0) return null;
    const lit = literalSql(c.value);
    if (lit === null) return null;
    const colSql = col.absent === '' ? `coalesce(${col.column}, '')` : col.column;
    return `${colSql} ${c.op} ${lit}`;
  }
  if (c.scope !== 'span' && c.scope !== 'resource') return null;
  const known = c.scope === 'span' ? keys.span : keys.resource;
  if (!known.has(c.name)) return 'FALSE';
  const d = exactDedicatedColumn(c.scope, c.name, known);
  if (d === undefined || d.valueType !== 'string' || c.value?.type !== 'string') return null;
  return `${d.column} ${c.op} ${sqlString(c.value.value)}`;
}

/** The block's groups for a plan, or null when the plan cannot be answered exactly from columns. */
export async function blockMetricsGroups(
  data: string | ParquetSource,
  keys: BlockKeys,
  plan: ColumnarPlan,
  q: BlockMetricsQuery,
): Promise<ColumnarGroup[] | null> {
  const src = asSource(data);
  const file = src.path;
  const cols: Column[] = [];
  for (const f of plan.by) {
    const c = columnOf(f, keys);
    if (c === null) return null;
    cols.push(c);
  }
  // Span start times alone: row-group statistics prune by them, and reading trace-level times too
  // would only cost (a block's rows are in trace ID order, so every row group spans its whole time).
  const where: string[] = [`start_unix_nano > ${q.startNs}`, `start_unix_nano <= ${q.endNs}`];
  for (const c of plan.conditions) {
    const p = conditionSql(c, keys);
    if (p === null) return null;
    if (p === 'FALSE') return [];
    where.push(p);
  }
  if (q.exclude !== undefined && q.exclude.size > 0) {
    let n = 0;
    for (const s of q.exclude.values()) n += s.size;
    if (n > MAX_EXCLUDED_SPANS) return null;
    const traces = [...q.exclude.keys()].map(sqlString).join(', ');
    const spans = [...new Set([...q.exclude.values()].flatMap((s) => [...s]))].map(sqlString).join(', ');
    // Span IDs are random 64-bit numbers: one seen in another trace of recent data is not a concern.
    where.push(`NOT (trace_id IN (${traces}) AND span_id IN (${spans}))`);
  }
  const interval = q.instant ? '0' : `((start_unix_nano - ${q.startNs} - 1) // ${q.stepNs})`;
  const bucketed = plan.fn === 'quantile_over_time' || plan.fn === 'histogram_over_time';
  if (bucketed) where.push('duration_nano >= 2');
  const bucket = bucketed ? 'CAST(ceil(log2(duration_nano)) AS INTEGER)' : '0';
  const groupCols = [...cols.map((c, i) => `${c.sql} AS g${i}`), `${interval} AS iv`, `${bucket} AS b`];
  // Only what the function needs is read: counting alone never touches duration or IDs.
  const fn = plan.fn;
  const aggs = [
    'count(*) AS n',
    fn === 'sum_over_time' || fn === 'avg_over_time' ? 'sum(duration_nano)::DOUBLE AS s' : '0 AS s',
    fn === 'min_over_time' ? 'min(duration_nano)::DOUBLE AS mn' : '0 AS mn',
    fn === 'max_over_time' ? 'max(duration_nano)::DOUBLE AS mx' : '0 AS mx',
    "'' AS tid, '' AS sid, 0 AS st, 0 AS dur",
  ];
  const from = `FROM read_parquet(${sqlString(file)}) WHERE ${where.map((w) => `(${w})`).join(' AND ')}`;
  const groupBy = [...cols.map((_, i) => `g${i}`), 'iv', 'b'].join(', ');
  const sql = `SELECT ${groupCols.join(', ')}, ${aggs.join(', ')} ${from} GROUP BY ${groupBy}`;
  // Exemplars: the first matching spans DuckDB meets. Rows are in trace ID order, so they are spread
  // over the whole time range, and the LIMIT stops the scan after a row group or two.
  const exemplarSql =
    (q.exemplars ?? 0) > 0
      ? `SELECT ${groupCols.join(', ')}, 0 AS n, 0 AS s, 0 AS mn, 0 AS mx, trace_id AS tid, span_id AS sid, start_unix_nano AS st, duration_nano::DOUBLE AS dur ${from} LIMIT ${q.exemplars}`
      : null;
  return withDuckDB(async (conn) => {
    const out: ColumnarGroup[] = [];
    for (const text of exemplarSql === null ? [sql] : [sql, exemplarSql]) {
      // Blocks in object storage fetch the byte ranges the statement reads first.
      const release = await src.prepare(text);
      try {
        await readGroups(conn, text, cols, out, q.signal);
      } finally {
        release();
      }
    }
    return out;
  }, q.signal);
}

async function readGroups(conn: DuckDBConnection, sql: string, cols: readonly Column[], out: ColumnarGroup[], signal: AbortSignal | undefined): Promise<void> {
  const res = await conn.run(sql);
  const k = cols.length;
  for (;;) {
    signal?.throwIfAborted();
    const chunk = await res.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    const colsData = Array.from({ length: k + 10 }, (_, i) => chunk.getColumnValues(i));
    for (let r = 0; r < chunk.rowCount; r++) {
      const values = cols.map((c, i) => c.read(colsData[i]![r]));
      const at = (i: number): unknown => colsData[k + i]![r];
      out.push({
        values,
        interval: Number(at(0)),
        bucketExp: Number(at(1)),
        count: Number(at(2)),
        sum: Number(at(3)),
        min: Number(at(4)),
        max: Number(at(5)),
        traceId: String(at(6)),
        spanId: String(at(7)),
        startNs: BigInt(at(8) as bigint),
        durationNs: Number(at(9)),
      });
    }
  }
}
