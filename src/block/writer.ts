import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { createBloomFilter } from './bloom.js';
import { crc32 } from '../util/crc32.js';
import { duckdbConnect, sqlString } from './duckdb.js';
import { BLOCK_FILES, BLOCK_FORMAT, blockPath, serializeBlockMeta, type BlockAttributeKeys, type BlockMeta } from './meta.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import { StageFileWriter } from './parquet-stage.js';
import { parquetSelectSql } from './schema.js';
import { SpanExtractor, stageColumns } from './span-extract.js';
import { attributeListColumn, listScopes, type ListScope } from './columns.js';
import type { TraceRecord } from '../model/trace-record.js';
import { createTraceIndexBuilder } from './trace-index.js';

// Re-exported because callers of writeBlock (bench/search) import it from here.
export type { TraceRecord } from '../model/trace-record.js';

export interface WriteBlockOptions {
  /** 0 for blocks flushed by the ingester; the compactor writes max(inputs)+1. Default 0. */
  compactionLevel?: number;
  /**
   * Parquet row group size in rows (DuckDB rounds to its vector size). Default 8_192: at 50k rows a
   * row group (mostly span_proto) did not fit a 128MB DuckDB memory limit, the COPY was 3× slower and
   * trace-by-ID read more per lookup; with format 2's five more columns, 10_240 rows no longer fitted
   * the block builder's 64MB and the COPY spilled (2.7 s instead of 1.3 s for 200k spans).
   */
  rowGroupRows?: number;
  /**
   * Local folder for the staging files. Default: a `.tmp-<uuid>` folder under the tenant's folder in
   * the backend's root when it has one (so data.parquet is moved into place by a rename), else the OS
   * temp folder.
   */
  tmpDir?: string;
  /** Block ID to use; default a fresh uuid v4. */
  blockID?: string;
  /** The bloom filter's false-positive rate (Tempo's `bloom_filter_false_positive`); default 0.01. */
  bloomFalsePositive?: number;
}

export const DEFAULT_ROW_GROUP_ROWS = 8_192;

/**
 * Writes one block from traces sorted by trace ID (ascending, each ID once). Rows are extracted from
 * the protobuf bytes column by column into an uncompressed staging Parquet file (8192 rows in memory
 * at a time), which one DuckDB COPY turns into the zstd data.parquet; the files are built in a local
 * work folder, then handed to the backend; meta.json goes last and commits the block.
 * Throws when the input is empty or out of order.
 */
export async function writeBlock(
  backend: Backend,
  tenant: string,
  traces: AsyncIterable<TraceRecord> | Iterable<TraceRecord>,
  opts: WriteBlockOptions = {},
): Promise<BlockMeta> {
  const blockID = opts.blockID ?? randomUUID();
  // Inside the backend's root when it has one, so data.parquet reaches its place with a rename.
  const work = await makeWorkDir(backend, tenant, opts.tmpDir);
  let conn: DuckDBConnection | null = null;
  try {
    const stageFile = join(work, 'stage.parquet');
    const columns = stageColumns();
    const extractor = new SpanExtractor(columns);
    const index = createTraceIndexBuilder();
    let rows = 0;
    let pending = 0;
    let minStartMs = -1;
    let maxEndMs = 0;
    const fh = await open(stageFile, 'w');
    try {
      const stage = new StageFileWriter(fh, columns);
      await stage.start();
      for await (const rec of traces) {
        const sum = extractor.addTrace(rec);
        if (sum === null) continue;
        // Throws on out-of-order IDs; the staged rows are then thrown away with the work folder.
        index.add(rec.traceId, rows, sum.spans);
        rows += sum.spans;
        pending += sum.spans;
        if (minStartMs < 0 || sum.startMs < minStartMs) minStartMs = sum.startMs;
        if (sum.endMs > maxEndMs) maxEndMs = sum.endMs;
        if (pending >= STAGE_ROW_GROUP_ROWS) {
          await stage.flush(pending);
          pending = 0;
        }
      }
      if (index.count === 0) throw new Error('writeBlock: no spans to write');
      await stage.flush(pending);
      await stage.finish();
    } finally {
      await fh.close();
    }

    conn = await duckdbConnect();
    const dataFile = join(work, BLOCK_FILES.data);
    const rowGroup = Math.max(1, Math.floor(opts.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS));
    // The dictionary cap: with DuckDB's default (1MB per string column) the COPY used the whole
    // 128MB memory limit and crawled at 64MB; at 64KB the file is the same size (zstd makes up for it).
    await step('copy to parquet', () =>
      conn!.run(
        `COPY (${parquetSelectSql(`read_parquet(${sqlString(stageFile)})`)}) TO ${sqlString(dataFile)} ` +
          `(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, ROW_GROUP_SIZE ${rowGroup}, STRING_DICTIONARY_PAGE_SIZE_LIMIT 65536)`,
      ),
    );
    await rm(stageFile, { force: true });
    const rg = await conn.runAndReadAll(`SELECT count(DISTINCT row_group_id)::INTEGER FROM parquet_metadata(${sqlString(dataFile)})`);
    const rowGroups = Number(rg.getRows()[0]?.[0] ?? 0);

    // Tag names are asked often and a block never changes: list its attribute keys once, here.
    const keys: { -readonly [S in ListScope]?: string[] } = {};
    for (const scope of listScopes()) keys[scope] = await distinctKeys(conn, dataFile, attributeListColumn(scope)!);
    const keysFile: BlockAttributeKeys = { ...keys, span: keys.span ?? [], resource: keys.resource ?? [] };

    const bloom = createBloomFilter(index.count, opts.bloomFalsePositive);
    let minID = '';
    let maxID = '';
    for (const id of index.ids()) {
      bloom.add(id);
      if (minID === '') minID = id;
      maxID = id;
    }
    const bloomBytes = bloom.serialize();
    const indexBytes = index.finish();
    const size = (await stat(dataFile)).size;

    const meta: BlockMeta = {
      format: BLOCK_FORMAT,
      blockID,
      tenantID: tenant,
      startTime: new Date(Math.max(0, minStartMs)).toISOString(),
      endTime: new Date(maxEndMs).toISOString(),
      totalObjects: index.count,
      totalSpans: rows,
      size,
      compactionLevel: opts.compactionLevel ?? 0,
      minID,
      maxID,
      totalRecords: rowGroups,
      bloomBytes: bloomBytes.byteLength,
      indexBytes: indexBytes.byteLength,
      bloomCrc32: crc32(bloomBytes),
      indexCrc32: crc32(indexBytes),
    };
    await backend.writeFile(blockPath(tenant, blockID, BLOCK_FILES.data), dataFile);
    await backend.write(blockPath(tenant, blockID, BLOCK_FILES.bloom), bloomBytes);
    await backend.write(blockPath(tenant, blockID, BLOCK_FILES.index), indexBytes);
    await backend.write(blockPath(tenant, blockID, BLOCK_FILES.keys), Buffer.from(JSON.stringify(keysFile)));
    await backend.write(blockPath(tenant, blockID, BLOCK_FILES.meta), serializeBlockMeta(meta));
    return meta;
  } finally {
    conn?.closeSync();
    await rm(work, { recursive: true, force: true });
  }
}

/** Distinct attribute keys of one attribute-list column of a Parquet file, sorted. */
async function distinctKeys(conn: DuckDBConnection, file: string, column: string): Promise<string[]> {
  const r = await conn.runAndReadAll(
    `SELECT DISTINCT a.key FROM (SELECT unnest(${column}) AS a FROM read_parquet(${sqlString(file)})) WHERE a.key IS NOT NULL ORDER BY 1`,
  );
  return r.getRows().map((row) => String(row[0]));
}

/** Rows per staging row group: bounds the JS column buffers (about 1.5 KB per row). */
const STAGE_ROW_GROUP_ROWS = 8192;

/** Name prefix of work folders inside a backend root; backends and block listings skip it. */
export const WORK_DIR_PREFIX = '.tmp-';

/**
 * Removes work folders a crashed writeBlock left under the tenant's folder in the backend's root
 * (staging files can be gigabytes). Only folders older than `olderThanMs` go, so a write in progress in
 * this or another process is left alone. Returns how many were removed; 0 for backends without a root.
 */
export async function removeStaleWorkDirs(backend: Backend, tenant: string, olderThanMs = 60 * 60 * 1000, now = Date.now()): Promise<number> {
  const dir = backend.localPath(tenant);
  if (dir === null) return 0;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const n of names) {
    if (!n.startsWith(WORK_DIR_PREFIX)) continue;
    const st = await stat(join(dir, n)).catch(() => null);
    if (st === null || now - st.mtimeMs < olderThanMs) continue;
    await rm(join(dir, n), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

async function makeWorkDir(backend: Backend, tenant: string, tmpDir: string | undefined): Promise<string> {
  if (tmpDir === undefined) {
    const local = backend.localPath(`${tenant}/${WORK_DIR_PREFIX}${randomUUID()}`);
    if (local !== null) {
      await mkdir(local, { recursive: true });
      return local;
    }
  }
  return mkdtemp(join(tmpDir ?? tmpdir(), 'rubato-block-'));
}

/** Names the failing step in DuckDB errors (they do not say which statement failed). */
async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new Error(`writeBlock: ${name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
