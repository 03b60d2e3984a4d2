import type { IntrinsicName } from '../traceql/index.js';
import type { TagRef, TagValueType, TypedValue } from './block.js';
import { attributeListColumn, CURRENT_FORMAT_VERSION, exactDedicatedColumn, intrinsicColumn, listScopes, type ListScope } from './columns.js';
import { sqlString, withDuckDB } from './duckdb.js';
import { asSource, type ParquetSource } from './parquet-source.js';
import type { BlockAttributeKeys } from './meta.js';
import { filterSql, type BlockKeys, type BlockSearchFilter } from './search.js';

/**
 * Tag names and values of a Parquet block, read with DuckDB from the attribute list columns and the
 * dedicated and intrinsic columns the column table names. Stateless: the block (parquet-block.ts)
 * owns the caches.
 */

/** Where a tag's values come from in the block. */
export type TagSource =
  | { readonly kind: 'attribute'; readonly scope: ListScope; readonly key: string }
  /** A plain column (intrinsics such as `name`, dedicated attribute columns). */
  | { readonly kind: 'column'; readonly column: string; readonly type: TagValueType }
  | { readonly kind: 'listColumn'; readonly column: string };

/** IDs are never listed as tag values (Tempo lists none either). */
const UNLISTED: ReadonlySet<IntrinsicName> = new Set(['traceID', 'spanID', 'parentID', 'linkTraceID', 'linkSpanID']);

/**
 * Parses keys.json (written with the block); null when it is not what the writer writes for a block
 * of format `version` (a format 2 block lists event, link and instrumentation keys too).
 */
export function parseKeysFile(buf: Uint8Array, version = CURRENT_FORMAT_VERSION): BlockKeys | null {
  try {
    const k = JSON.parse(Buffer.from(buf).toString('utf8')) as BlockAttributeKeys;
    const out: { -readonly [S in ListScope]?: Set<string> } = {};
    for (const scope of listScopes(version)) {
      const list = k[scope];
      if (!Array.isArray(list)) return null;
      out[scope] = new Set(list);
    }
    if (out.span === undefined || out.resource === undefined) return null;
    return { ...out, span: out.span, resource: out.resource };
  } catch {
    return null;
  }
}

/** Attribute keys of the span rows passing `where` (any SQL predicate), by a scan of `scopes` (default: all the format has). */
export async function scanKeys(
  file: string | ParquetSource,
  where: string,
  signal?: AbortSignal,
  version = CURRENT_FORMAT_VERSION,
  scopes: readonly ListScope[] = listScopes(version),
): Promise<BlockKeys> {
  const source = asSource(file);
  const src = `read_parquet(${sqlString(source.path)})`;
  return withDuckDB(async (conn) => {
    const read = async (column: string): Promise<Set<string>> => {
      const sql = `SELECT DISTINCT a.key FROM (SELECT unnest(${column}) AS a FROM ${src}${where === 'TRUE' ? '' : ` WHERE ${where}`}) WHERE a.key IS NOT NULL`;
      const release = await source.prepare(sql);
      try {
        const r = await conn.runAndReadAll(sql);
        return new Set(r.getRows().map((row) => String(row[0])));
      } finally {
        release();
      }
    };
    const out: { -readonly [S in ListScope]?: Set<string> } = {};
    for (const scope of scopes) {
      const column = attributeListColumn(scope, version);
      if (column !== undefined) out[scope] = await read(column);
    }
    return { ...out, span: out.span ?? new Set(), resource: out.resource ?? new Set() };
  }, signal);
}

/**
 * Where to read a tag's values: the dedicated column when it holds exactly that attribute in this
 * block (`keys`, the block's attribute keys), else the attribute list; intrinsics from their column.
 * Attributes the block lacks (per `keys`) have no source.
 */
export function tagSources(tag: TagRef, keys: BlockKeys | undefined, version = CURRENT_FORMAT_VERSION): TagSource[] {
  if (tag.kind === 'intrinsic') {
    const col = intrinsicColumn(tag.name, version);
    if (col === undefined || UNLISTED.has(tag.name) || col.codes !== undefined || col.unsigned) return [];
    return [col.list ? { kind: 'listColumn', column: col.column } : { kind: 'column', column: col.column, type: 'string' }];
  }
  const scopes: ListScope[] = tag.scope === 'none' ? ['span', 'resource'] : [tag.scope];
  const out: TagSource[] = [];
  for (const scope of scopes) {
    if (attributeListColumn(scope, version) === undefined) continue;
    const known = keys?.[scope];
    if (known !== undefined && !known.has(tag.key)) continue;
    const d = scope === 'span' || scope === 'resource' ? exactDedicatedColumn(scope, tag.key, known) : undefined;
    out.push(d !== undefined ? { kind: 'column', column: d.column, type: d.valueType } : { kind: 'attribute', scope, key: tag.key });
  }
  return out;
}

/** Distinct values from one source among rows passing `filter`. */
export async function readTagValues(file: string | ParquetSource, source: TagSource, filter: BlockSearchFilter, signal?: AbortSignal): Promise<TypedValue[]> {
  const where = filterSql(filter);
  if (where === 'FALSE') return [];
  const parquet = asSource(file);
  const src = `read_parquet(${sqlString(parquet.path)})`;
  let sql: string;
  switch (source.kind) {
    case 'column':
      sql = `SELECT DISTINCT '${source.type}', CAST(${source.column} AS VARCHAR) FROM ${src} WHERE ${where} AND ${source.column} IS NOT NULL`;
      break;
    case 'listColumn':
      sql = `SELECT DISTINCT 'string', v FROM (SELECT unnest(${source.column}) AS v FROM ${src} WHERE ${where}) WHERE v IS NOT NULL`;
      break;
    case 'attribute':
      sql =
        `SELECT DISTINCT a.type, CASE a.type WHEN 'int' THEN CAST(a.int AS VARCHAR) WHEN 'double' THEN CAST(a.dbl AS VARCHAR) ` +
        `WHEN 'bool' THEN CAST(a.bool AS VARCHAR) ELSE a.str END ` +
        `FROM (SELECT unnest(${attributeListColumn(source.scope, CURRENT_FORMAT_VERSION)!}) AS a FROM ${src} WHERE ${where}) ` +
        `WHERE a.key = ${sqlString(source.key)} AND a.type IN ('string', 'int', 'double', 'bool')`;
      break;
  }
  const release = await parquet.prepare(sql);
  try {
    return await readValues(sql, signal);
  } finally {
    release();
  }
}

async function readValues(sql: string, signal: AbortSignal | undefined): Promise<TypedValue[]> {
  return withDuckDB(async (conn) => {
    const r = await conn.runAndReadAll(sql);
    const out: TypedValue[] = [];
    for (const row of r.getRows()) {
      const t = String(row[0]);
      const v = row[1];
      if (v === null || v === undefined) continue;
      out.push({ type: t === 'double' ? 'float' : (t as TagValueType), value: String(v) });
    }
    return out;
  }, signal);
}
