import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { encodeTrace, type SpanBytes } from '../otlp/trace-encode.js';
import { parseBloomFilter, type BloomFilter } from './bloom.js';
import { duckdbConnect, sqlString, withDuckDB } from './duckdb.js';
import { PAYLOAD_COLUMNS, payloadsOf } from './payload-columns.js';
import { BLOCK_FILES, blockPath, parseBlockMeta, type BlockMeta } from './meta.js';
import type { TraceRecord } from '../model/trace-record.js';
import { openTraceIndex, type TraceIndex } from './trace-index.js';

export interface BlockReader {
  readonly meta: BlockMeta;
  /** Bloom filter check: false means the block certainly does not hold the trace. */
  mayContain(traceId: string): boolean;
  /** The trace as an encoded tempopb.Trace, or null when the block does not hold it. */
  findTrace(traceId: string): Promise<Uint8Array | null>;
  /** Every trace in ID order, read row group by row group. */
  traces(): AsyncIterable<TraceRecord>;
  /** Local path of data.parquet when the backend has one. */
  parquetPath(): string | null;
  /** Drops the local copy of data.parquet made for backends without local paths. */
  close(): Promise<void>;
}

/** Opens a block: loads its bloom filter and the index summary; data.parquet is read on demand. */
export async function openBlock(backend: Backend, tenant: string, meta: BlockMeta): Promise<BlockReader> {
  const dir = blockPath(tenant, meta.blockID);
  const bloomBuf = await backend.read(`${dir}/${BLOCK_FILES.bloom}`);
  if (bloomBuf === null) throw new Error(`block ${meta.blockID}: bloom missing`);
  const bloom: BloomFilter = parseBloomFilter(bloomBuf);
  const indexPath = `${dir}/${BLOCK_FILES.index}`;
  const index: TraceIndex = await openTraceIndex((off, len) => backend.readRange(indexPath, off, len));
  const dataKey = `${dir}/${BLOCK_FILES.data}`;
  const localData = backend.localPath(dataKey);
  let copied: Promise<{ dir: string; file: string }> | null = null;

  async function dataFile(): Promise<string> {
    if (localData !== null) return localData;
    // Object stores: DuckDB needs a file, so the block is fetched once and kept while the reader lives.
    copied ??= (async () => {
      const d = await mkdtemp(join(tmpdir(), 'rubato-blockcopy-'));
      const buf = await backend.read(dataKey);
      if (buf === null) throw new Error(`block ${meta.blockID}: data.parquet missing`);
      const file = join(d, BLOCK_FILES.data);
      await writeFile(file, buf);
      return { dir: d, file };
    })();
    return (await copied).file;
  }

  function mayContain(traceId: string): boolean {
    const id = traceId.toLowerCase();
    if (id < meta.minID || id > meta.maxID) return false;
    return bloom.mayContain(id);
  }

  return {
    meta,
    mayContain,
    async findTrace(traceId) {
      const id = traceId.toLowerCase();
      if (!mayContain(id)) return null;
      const entry = await index.find(id);
      if (entry === null) return null;
      const file = await dataFile();
      // trace_id is sorted, so the min/max statistics prune to the one or two row groups holding it.
      const spans = await withDuckDB(async (conn) => {
        const res = await conn.run(
          `SELECT ${PAYLOAD_COLUMNS} FROM read_parquet(${sqlString(file)}) WHERE trace_id = $1`,
          [id],
        );
        const out: SpanBytes[] = [];
        for (;;) {
          const chunk = await res.fetchChunk();
          if (chunk === null || chunk.rowCount === 0) break;
          out.push(...payloadsOf(chunk, 0));
        }
        return out;
      });
      return spans.length === 0 ? null : encodeTrace(spans);
    },
    traces() {
      return streamTraces(dataFile);
    },
    parquetPath() {
      return localData;
    },
    async close() {
      if (copied !== null) {
        const c = await copied.catch(() => null);
        copied = null;
        if (c !== null) await rm(c.dir, { recursive: true, force: true });
      }
    },
  };
}

async function* streamTraces(dataFile: () => Promise<string>): AsyncGenerator<TraceRecord> {
  const file = await dataFile();
  // A connection of its own: the consumer (a k-way merge) holds several of these streams open at once.
  const conn = await duckdbConnect();
  try {
    const res = await conn.stream(
      `SELECT trace_id, ${PAYLOAD_COLUMNS} FROM read_parquet(${sqlString(file)})`,
    );
    let current = '';
    let spans: SpanBytes[] = [];
    for (;;) {
      const chunk = await res.fetchChunk();
      if (chunk === null || chunk.rowCount === 0) break;
      const ids = chunk.getColumnValues(0);
      const payloads = payloadsOf(chunk, 1);
      for (let i = 0; i < chunk.rowCount; i++) {
        const id = String(ids[i]);
        if (id !== current) {
          if (spans.length > 0) yield { traceId: current, trace: encodeTrace(spans) };
          current = id;
          spans = [];
        }
        spans.push(payloads[i]!);
      }
    }
    if (spans.length > 0) yield { traceId: current, trace: encodeTrace(spans) };
  } finally {
    conn.closeSync();
  }
}

/** Complete blocks of a tenant (folders with a valid meta.json), oldest start first. */
export async function listBlocks(backend: Backend, tenant: string): Promise<BlockMeta[]> {
  const ids = blockFolders(await backend.list(tenant));
  const metas = await Promise.all(
    ids.map(async (id) => {
      const buf = await backend.read(blockPath(tenant, id, BLOCK_FILES.meta)).catch(() => null);
      const meta = buf === null ? null : parseBlockMeta(buf);
      return meta !== null && meta.blockID === id ? meta : null;
    }),
  );
  return metas
    .filter((m): m is BlockMeta => m !== null)
    .sort((a, b) => (a.startTime < b.startTime ? -1 : a.startTime > b.startTime ? 1 : a.blockID < b.blockID ? -1 : 1));
}

/** Block folders of a tenant that have no meta.json (being written, or left by a crash). */
export async function listIncompleteBlocks(backend: Backend, tenant: string): Promise<string[]> {
  const ids = blockFolders(await backend.list(tenant));
  const out: string[] = [];
  for (const id of ids) {
    const children = await backend.list(blockPath(tenant, id));
    if (children.length > 0 && !children.includes(BLOCK_FILES.meta)) out.push(id);
  }
  return out;
}

/** Drops dot-folders: the writer's `.tmp-*` work folders are neither blocks nor incomplete blocks. */
function blockFolders(names: string[]): string[] {
  return names.filter((n) => !n.startsWith('.'));
}

/** Tenants that have anything stored. */
export async function listTenants(backend: Backend): Promise<string[]> {
  return (await backend.list('')).filter((n) => !n.startsWith('.'));
}

/** Removes a block: meta.json first so readers stop seeing it at once, then the rest. */
export async function deleteBlock(backend: Backend, tenant: string, blockID: string): Promise<void> {
  await backend.delete(blockPath(tenant, blockID, BLOCK_FILES.meta));
  await backend.delete(blockPath(tenant, blockID));
}
