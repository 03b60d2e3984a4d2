import type { IntrinsicName } from '../traceql/index.js';
import type { TagRef, TagValueType, TypedValue } from './block.js';
import { attributeListColumn, exactDedicatedColumn, intrinsicColumn } from './columns.js';
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
  | { readonly kind: 'attribute'; readonly scope: 'span' | 'resource'; readonly key: string }
  /** A plain column (intrinsics such as `name`, dedicated attribute columns). */
  | { readonly kind: 'column'; readonly column: string; readonly type: TagValueType }
  | { readonly kind: 'listColumn'; readonly column: string };

/** IDs are never listed as tag values (Tempo lists none either). */
const UNLISTED: ReadonlySet<IntrinsicName> = new Set(['traceID', 'spanID', 'parentID']);

/** Parses keys.json (written with the block); null when it is not what the writer writes. */
export function parseKeysFile(buf: Uint8Array): BlockKeys | null {
  try {
    const k = JSON.parse(Buffer.from(buf).toString('utf8')) as BlockAttributeKeys;
    if (!Array.isArray(k.span) || !Array.isArray(k.resource)) return null;
    return { span: new Set(k.span), resource: new Set(k.resource) };
  } catch {
    return null;
  }
}

/** Attribute keys of the span rows passing `where` (any SQL predicate), by a scan. */
export async function scanKeys(file: string | ParquetSource, where: string, signal?: AbortSignal): Promise<BlockKeys> {
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
    return { span: await read(attributeListColumn('span')), resource: await read(attributeListColumn('resource')) };
  }, signal);
}

/**
 * Where to read a tag's values: the dedicated column when it holds exactly that attribute in this
 * block (`keys`, the block's attribute keys), else the attribute list; intrinsics from their column.
 * Attributes the block lacks (per `keys`) have no source.
 */
export function tagSources(tag: TagRef, keys: BlockKeys | undefined): TagSource[] {
  if (tag.kind === 'intrinsic') {
    const col = intrinsicColumn(tag.name);
    if (col === undefined || UNLISTED.has(tag.name) || col.codes !== undefined || col.unsigned) return [];
    return [col.list ? { kind: 'listColumn', column: col.column } : { kind: 'column', column: col.column, type: 'string' }];
  }
  const scopes: ('span' | 'resource')[] = tag.scope === 'span' || tag.scope === 'resource' ? [tag.scope] : tag.scope === 'none' ? ['span', 'resource'] : [];
  const out: TagSource[] = [];
  for (const scope of scopes) {
    const known = keys === undefined ? undefined : scope === 'span' ? keys.span : keys.resource;
    if (known !== undefined && !known.has(tag.key)) continue;
    const d = exactDedicatedColumn(scope, tag.key, known);
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
        `FROM (SELECT unnest(${attributeListColumn(source.scope)}) AS a FROM ${src} WHERE ${where}) ` +
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
