import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sqlString, withDuckDB } from './duckdb.js';
import { BLOCK_FILES, type BlockAttributeKeys } from './meta.js';
import { filterSql, type BlockKeys, type BlockSearchFilter } from './search.js';

/**
 * Tag names and values of a block, read with DuckDB from the attribute list columns and the
 * dedicated columns. Blocks never change, so answers without a query filter are cached per file.
 */

export type TagValueType = 'string' | 'int' | 'float' | 'bool';

export interface TypedValue {
  readonly type: TagValueType;
  readonly value: string;
}

/** Where a tag's values come from in the block. */
export type TagSource =
  | { readonly kind: 'attribute'; readonly scope: 'span' | 'resource'; readonly key: string }
  /** A plain string column (intrinsics such as `name`, dedicated resource columns). */
  | { readonly kind: 'column'; readonly column: string; readonly type?: TagValueType }
  | { readonly kind: 'listColumn'; readonly column: string };

const RESOURCE_COLUMNS: Record<string, string> = {
  'service.name': 'service_name',
  'k8s.namespace.name': 'k8s_namespace_name',
  'k8s.pod.name': 'k8s_pod_name',
  'k8s.deployment.name': 'k8s_deployment_name',
  'k8s.cluster.name': 'k8s_cluster_name',
};

const MAX_CACHED = 4096;
const keyCache = new Map<string, Promise<BlockKeys>>();
const knownKeys = new Map<string, BlockKeys>();
const valueCache = new Map<string, Promise<TypedValue[]>>();

function remember<T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
  const p = make();
  cache.set(key, p);
  // A failed read (block deleted by the compactor, …) must not stay cached.
  p.catch(() => cache.delete(key));
  return p;
}

/**
 * Span and resource attribute keys present in the block (cached): from the block's keys.json, written
 * with the block; blocks written before it existed are scanned with DuckDB.
 */
export function blockKeys(file: string): Promise<BlockKeys> {
  return remember(keyCache, file, async () => {
    const listed = await readKeysFile(file);
    if (listed !== null) {
      if (knownKeys.size >= MAX_CACHED) knownKeys.delete(knownKeys.keys().next().value as string);
      knownKeys.set(file, listed);
      return listed;
    }
    const src = `read_parquet(${sqlString(file)})`;
    return withDuckDB(async (conn) => {
      const read = async (column: string): Promise<Set<string>> => {
        const r = await conn.runAndReadAll(`SELECT DISTINCT a.key FROM (SELECT unnest(${column}) AS a FROM ${src}) WHERE a.key IS NOT NULL`);
        return new Set(r.getRows().map((row) => String(row[0])));
      };
      const keys = { span: await read('span_attrs'), resource: await read('resource_attrs') };
      if (knownKeys.size >= MAX_CACHED) knownKeys.delete(knownKeys.keys().next().value as string);
      knownKeys.set(file, keys);
      return keys;
    });
  });
}

async function readKeysFile(dataFile: string): Promise<BlockKeys | null> {
  try {
    const keys = JSON.parse(await readFile(join(dirname(dataFile), BLOCK_FILES.keys), 'utf8')) as BlockAttributeKeys;
    return { span: new Set(keys.span), resource: new Set(keys.resource) };
  } catch {
    return null;
  }
}

/** The block's keys when already read, without reading them (search uses them only when free). */
export function cachedBlockKeys(file: string): BlockKeys | undefined {
  return knownKeys.get(file);
}

/**
 * Span columns shared by an old and a new semantic-convention name: the column holds exactly the
 * asked attribute when the block has no attribute of the other name.
 */
const SHARED_SPAN_COLUMNS: Record<string, { column: string; other: string; type: TagValueType }> = {
  'http.method': { column: 'http_method', other: 'http.request.method', type: 'string' },
  'http.request.method': { column: 'http_method', other: 'http.method', type: 'string' },
  'url.full': { column: 'http_url', other: 'http.url', type: 'string' },
  'http.url': { column: 'http_url', other: 'url.full', type: 'string' },
  'db.system': { column: 'db_system', other: 'db.system.name', type: 'string' },
  'db.system.name': { column: 'db_system', other: 'db.system', type: 'string' },
  'db.namespace': { column: 'db_name', other: 'db.name', type: 'string' },
  'db.name': { column: 'db_name', other: 'db.namespace', type: 'string' },
  'http.status_code': { column: 'http_status_code', other: 'http.response.status_code', type: 'int' },
  'http.response.status_code': { column: 'http_status_code', other: 'http.status_code', type: 'int' },
};

/**
 * Where to read a tag's values: dedicated columns where they hold exactly that attribute (`keys`, the
 * block's attribute keys, tells when a shared column is exact), else the attribute list.
 */
export function attributeSource(scope: 'span' | 'resource', key: string, keys?: BlockKeys): TagSource {
  if (scope === 'resource') {
    const col = RESOURCE_COLUMNS[key];
    return col !== undefined ? { kind: 'column', column: col } : { kind: 'attribute', scope, key };
  }
  if (key === 'http.route') return { kind: 'column', column: 'http_route' };
  const shared = SHARED_SPAN_COLUMNS[key];
  if (shared !== undefined && keys !== undefined && !keys.span.has(shared.other)) {
    return { kind: 'column', column: shared.column, type: shared.type };
  }
  return { kind: 'attribute', scope, key };
}

/**
 * Distinct values of a tag in the block. `filter` (from a `q` query) narrows to matching span rows;
 * filtered answers are not cached.
 */
export function blockTagValues(file: string, source: TagSource, filter?: BlockSearchFilter): Promise<TypedValue[]> {
  const where = filter === undefined ? 'TRUE' : filterSql(filter);
  const read = (): Promise<TypedValue[]> => readValues(file, source, where);
  if (where !== 'TRUE') return where === 'FALSE' ? Promise.resolve([]) : read();
  return remember(valueCache, `${file}\u0000${JSON.stringify(source)}`, read);
}

async function readValues(file: string, source: TagSource, where: string): Promise<TypedValue[]> {
  const src = `read_parquet(${sqlString(file)})`;
  let sql: string;
  switch (source.kind) {
    case 'column':
      sql = `SELECT DISTINCT '${source.type ?? 'string'}', CAST(${source.column} AS VARCHAR) FROM ${src} WHERE ${where} AND ${source.column} IS NOT NULL`;
      break;
    case 'listColumn':
      sql = `SELECT DISTINCT 'string', v FROM (SELECT unnest(${source.column}) AS v FROM ${src} WHERE ${where}) WHERE v IS NOT NULL`;
      break;
    case 'attribute': {
      const column = source.scope === 'span' ? 'span_attrs' : 'resource_attrs';
      sql =
        `SELECT DISTINCT a.type, CASE a.type WHEN 'int' THEN CAST(a.int AS VARCHAR) WHEN 'double' THEN CAST(a.dbl AS VARCHAR) ` +
        `WHEN 'bool' THEN CAST(a.bool AS VARCHAR) ELSE a.str END ` +
        `FROM (SELECT unnest(${column}) AS a FROM ${src} WHERE ${where}) ` +
        `WHERE a.key = ${sqlString(source.key)} AND a.type IN ('string', 'int', 'double', 'bool')`;
      break;
    }
  }
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
  });
}

/** Attribute keys of the span rows passing `filter` (a `q` query's pre-filter); not cached. */
export async function blockKeysMatching(file: string, filter: BlockSearchFilter): Promise<BlockKeys> {
  const where = filterSql(filter);
  if (where === 'TRUE') return blockKeys(file);
  if (where === 'FALSE') return { span: new Set(), resource: new Set() };
  const src = `read_parquet(${sqlString(file)})`;
  return withDuckDB(async (conn) => {
    const read = async (column: string): Promise<Set<string>> => {
      const r = await conn.runAndReadAll(
        `SELECT DISTINCT a.key FROM (SELECT unnest(${column}) AS a FROM ${src} WHERE ${where}) WHERE a.key IS NOT NULL`,
      );
      return new Set(r.getRows().map((row) => String(row[0])));
    };
    return { span: await read('span_attrs'), resource: await read('resource_attrs') };
  });
}
