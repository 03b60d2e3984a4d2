import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { createBloomFilter } from './bloom.js';
import { duckdbConnect, sqlString } from './duckdb.js';
import { BLOCK_FILES, BLOCK_FORMAT, blockPath, serializeBlockMeta, type BlockMeta } from './meta.js';
import { appendSpanRow, parquetSelectSql, stagingTableSql } from './schema.js';
import { traceToRows, type TraceRecord } from './span-rows.js';
import { createTraceIndexBuilder } from './trace-index.js';

// Re-exported because callers of writeBlock (bench/search) import it from here.
export type { TraceRecord } from './span-rows.js';


export interface WriteBlockOptions {
  /** 0 for blocks flushed by the ingester; the compactor writes max(inputs)+1. Default 0. */
  compactionLevel?: number;
  /**
   * Parquet row group size in rows (DuckDB rounds to its vector size). Default 10_240: at 50k rows a
   * row group (mostly span_proto) did not fit a 128MB DuckDB memory limit, the COPY was 3× slower and
   * trace-by-ID read more per lookup.
   */
  rowGroupRows?: number;
  /** Local folder for the staging files; default the OS temp folder. */
  tmpDir?: string;
  /** Block ID to use; default a fresh uuid v4. */
  blockID?: string;
}

export const DEFAULT_ROW_GROUP_ROWS = 10_240;

/**
 * Writes one block from traces sorted by trace ID (ascending, each ID once). The files are built in a
 * local temp folder, then handed to the backend; meta.json goes last and commits the block.
 * Throws when the input is empty or out of order.
 */
export async function writeBlock(
  backend: Backend,
  tenant: string,
  traces: AsyncIterable<TraceRecord> | Iterable<TraceRecord>,
  opts: WriteBlockOptions = {},
): Promise<BlockMeta> {
  const blockID = opts.blockID ?? randomUUID();
  const conn = await duckdbConnect();
  const work = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'rubato-block-')).catch((err: unknown) => {
    conn.closeSync();
    throw err;
  });
  // The staging table lives in its own database file in the temp folder, so a large block pages out
  // to disk under DuckDB's memory limit instead of growing the heap.
  const stage = `stage_${randomBytes(6).toString('hex')}`;
  let attached = false;
  try {
    await conn.run(`ATTACH ${sqlString(join(work, 'stage.duckdb'))} AS ${stage}`);
    attached = true;
    await conn.run(stagingTableSql(`${stage}.main.spans`));
    const appender = await conn.createAppender('spans', 'main', stage);

    const index = createTraceIndexBuilder();
    let rows = 0;
    let minStart = -1n;
    let maxEnd = 0n;
    try {
      for await (const rec of traces) {
        const spanRows = traceToRows(rec);
        if (spanRows.length === 0) continue;
        index.add(rec.traceId, rows, spanRows.length);
        for (const r of spanRows) appendSpanRow(appender, r);
        rows += spanRows.length;
        const first = spanRows[0]!;
        if (minStart < 0n || first.traceStartUnixNano < minStart) minStart = first.traceStartUnixNano;
        if (first.traceEndUnixNano > maxEnd) maxEnd = first.traceEndUnixNano;
      }
    } finally {
      appender.closeSync();
    }
    if (index.count === 0) throw new Error('writeBlock: no spans to write');

    const dataFile = join(work, BLOCK_FILES.data);
    const rowGroup = Math.max(1, Math.floor(opts.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS));
    await step('copy to parquet', () => conn.run(
      `COPY (${parquetSelectSql(`${stage}.main.spans`)}) TO ${sqlString(dataFile)} ` +
        `(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${rowGroup})`,
    ));
    await conn.run(`DETACH ${stage}`);
    attached = false;
    await rm(join(work, 'stage.duckdb'), { force: true });
    const rg = await conn.runAndReadAll(
      `SELECT count(DISTINCT row_group_id)::INTEGER FROM parquet_metadata(${sqlString(dataFile)})`,
    );
    const rowGroups = Number(rg.getRows()[0]?.[0] ?? 0);

    const bloom = createBloomFilter(index.count);
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
      startTime: nanosToIso(minStart < 0n ? 0n : minStart),
      endTime: nanosToIso(maxEnd),
      totalObjects: index.count,
      totalSpans: rows,
      size,
      compactionLevel: opts.compactionLevel ?? 0,
      minID,
      maxID,
      totalRecords: rowGroups,
      bloomBytes: bloomBytes.byteLength,
      indexBytes: indexBytes.byteLength,
    };
    await backend.write(blockPath(tenant, blockID, BLOCK_FILES.data), await readFile(dataFile));
    await backend.write(blockPath(tenant, blockID, BLOCK_FILES.bloom), bloomBytes);
    await backend.write(blockPath(tenant, blockID, BLOCK_FILES.index), indexBytes);
    await backend.write(blockPath(tenant, blockID, BLOCK_FILES.meta), serializeBlockMeta(meta));
    return meta;
  } finally {
    if (attached) await conn.run(`DETACH ${stage}`).catch(() => undefined);
    conn.closeSync();
    await rm(work, { recursive: true, force: true });
  }
}

/** Names the failing step in DuckDB errors (they do not say which statement failed). */
async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new Error(`writeBlock: ${name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function nanosToIso(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString();
}
