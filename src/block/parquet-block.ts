import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import type { TraceRecord } from '../model/trace-record.js';
import { encodeTrace, type SpanBytes } from '../otlp/trace-encode.js';
import type { AttributeTagScope, Block, BlockInfo, SearchOptions, TagQuery, TagRef, TypedValue } from './block.js';
import { parseBloomFilter, type BloomFilter } from './bloom.js';
import { duckdbConnect, sqlString, withDuckDB } from './duckdb.js';
import { BLOCK_FILES, blockPath, formatVersion, type BlockMeta } from './meta.js';
import { listScopes } from './columns.js';
import { PAYLOAD_COLUMNS, payloadsOf } from './payload-columns.js';
import { filterSql, searchBlock, type BlockKeys, type BlockSearchFilter } from './search.js';
import { blockMetricsGroups, type BlockMetricsQuery } from './metrics.js';
import type { ColumnarGroup, ColumnarPlan } from '../traceql/index.js';
import { parseKeysFile, readTagValues, scanKeys, tagSources } from './tags.js';
import { openTraceIndex, type TraceIndex } from './trace-index.js';
import { crc32 } from '../util/crc32.js';
import { localSource, type ParquetSource } from './parquet-source.js';
import { SparseParquetFile } from './remote-file.js';
import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * A stored block of the `rubato-parquetN` encodings: data.parquet read by DuckDB, with a bloom filter
 * and a trace-ID index for lookups and keys.json for tag names. The block owns its caches (bloom,
 * index, attribute keys, unfiltered tag values), so they go when the block leaves the block list.
 * Files are reached through the Backend: a local path when the backend has one, else a sparse local
 * cache file holding only the footer and the column chunks queries have read.
 */

/** Unfiltered tag value lists kept per block. */
const MAX_CACHED_VALUE_LISTS = 64;

export class ParquetBlock implements Block {
  readonly info: BlockInfo;
  /** Which columns data.parquet has (formatVersion in meta.ts): queries use only those. */
  private readonly version: number;
  private keys: Promise<BlockKeys> | null = null;
  private readonly values = new Map<string, Promise<TypedValue[]>>();
  private copied: Promise<{ dir: string; file: string }> | null = null;
  private remote: SparseParquetFile | null = null;

  private constructor(
    private readonly backend: Backend,
    readonly meta: BlockMeta,
    /** null when the bloom file is damaged: every lookup then asks the index. */
    private readonly bloom: BloomFilter | null,
    /** null when the index file is damaged: lookups then read data.parquet, pruned by row-group statistics. */
    private index: TraceIndex | null,
    /** What was found damaged at open (the block still answers, more slowly). */
    readonly problems: string[],
  ) {
    const version = formatVersion(meta.format);
    if (version === undefined) throw new Error(`block ${meta.blockID}: not a rubato-parquet format: ${JSON.stringify(meta.format)}`);
    this.version = version;
    this.info = {
      id: meta.blockID,
      tenant: meta.tenantID,
      startMs: Date.parse(meta.startTime),
      endMs: Date.parse(meta.endTime),
      bytes: meta.size,
    };
  }

  /**
   * Opens a block: loads its bloom filter and the index summary; data.parquet is read on demand. A
   * missing or damaged bloom or index (checked against meta.json's CRCs where it has them) is noted in
   * `problems` and not used: lookups fall back to the next step, so no trace goes missing.
   */
  static async open(backend: Backend, meta: BlockMeta): Promise<ParquetBlock> {
    const dir = blockPath(meta.tenantID, meta.blockID);
    const problems: string[] = [];
    let bloom: BloomFilter | null = null;
    try {
      const buf = await backend.read(`${dir}/${BLOCK_FILES.bloom}`);
      if (buf === null) throw new Error('missing');
      if (meta.bloomCrc32 !== undefined && crc32(buf) !== meta.bloomCrc32) throw new Error('checksum mismatch');
      bloom = parseBloomFilter(buf);
    } catch (err) {
      problems.push(`bloom: ${errorText(err)}`);
    }
    let index: TraceIndex | null = null;
    try {
      const indexPath = `${dir}/${BLOCK_FILES.index}`;
      if (meta.indexCrc32 !== undefined) {
        // Read once whole to check it; lookups then read one page at a time.
        const buf = await backend.read(indexPath);
        if (buf === null) throw new Error('missing');
        if (crc32(buf) !== meta.indexCrc32) throw new Error('checksum mismatch');
      }
      index = await openTraceIndex((off, len) => backend.readRange(indexPath, off, len));
    } catch (err) {
      problems.push(`index: ${errorText(err)}`);
    }
    return new ParquetBlock(backend, meta, bloom, index, problems);
  }

  /** Bloom filter check: false means the block certainly does not hold the trace. */
  mayContain(traceId: string): boolean {
    const id = traceId.toLowerCase();
    if (id < this.meta.minID || id > this.meta.maxID) return false;
    return this.bloom === null || this.bloom.mayContain(id);
  }

  async findTrace(traceId: string, signal?: AbortSignal): Promise<Uint8Array[]> {
    const id = traceId.toLowerCase();
    if (!this.mayContain(id)) return [];
    if (this.index !== null) {
      try {
        if ((await this.index.find(id)) === null) return [];
      } catch (err) {
        // A page that cannot be read: stop trusting the index, read the data instead.
        this.problems.push(`index: ${errorText(err)}`);
        this.index = null;
      }
    }
    const src = await this.dataFile();
    // trace_id is sorted, so the min/max statistics prune to the one or two row groups holding it.
    const sql = `SELECT ${PAYLOAD_COLUMNS} FROM read_parquet(${sqlString(src.path)}) WHERE trace_id = $1`;
    const release = await src.prepare(sql, [id]);
    let spans: SpanBytes[];
    try {
      spans = await withDuckDB(async (conn) => {
        const res = await conn.run(sql, [id]);
        const out: SpanBytes[] = [];
        for (;;) {
          const chunk = await res.fetchChunk();
          if (chunk === null || chunk.rowCount === 0) break;
          out.push(...payloadsOf(chunk, 0));
        }
        return out;
      }, signal);
    } finally {
      release();
    }
    return spans.length === 0 ? [] : [encodeTrace(spans)];
  }

  async *search(filter: BlockSearchFilter, opts: SearchOptions): AsyncGenerator<TraceRecord[]> {
    // The block's attribute keys (read once and kept) decide absent attributes without reading, tell
    // which scope an unscoped attribute is in, and when a shared dedicated column is exact.
    const keys = filter.conditions.conditions.length > 0 ? await this.attributeKeys() : undefined;
    const src = await this.dataFile();
    const f = { ...filter, formatVersion: this.version };
    yield* searchBlock(src, keys === undefined ? f : { ...f, keys }, opts);
  }

  async metricsGroups(plan: ColumnarPlan, q: BlockMetricsQuery): Promise<ColumnarGroup[] | null> {
    return blockMetricsGroups(await this.dataFile(), await this.attributeKeys(), plan, { ...q, ...this.ownExclusions(q.exclude) });
  }

  /**
   * Spans counted elsewhere (recent data) matter here only for traces this block may hold: the bloom
   * filter narrows a busy ingester's many recent spans to the few of this block, so the block can still
   * aggregate by columns instead of declining a long exclusion list.
   */
  private ownExclusions(exclude: BlockMetricsQuery['exclude']): Pick<BlockMetricsQuery, 'exclude'> {
    if (exclude === undefined || exclude.size === 0) return {};
    const own = new Map<string, ReadonlySet<string>>();
    for (const [traceId, spans] of exclude) if (this.mayContain(traceId)) own.set(traceId, spans);
    return { exclude: own };
  }

  async tagNames(scopes: readonly AttributeTagScope[], q: TagQuery): Promise<Map<AttributeTagScope, Set<string>>> {
    const out = new Map<AttributeTagScope, Set<string>>();
    // Scopes without a column in this block's format (events, links, scopes of format 1) list nothing.
    const have = listScopes(this.version);
    const wanted = scopes.filter((s) => have.includes(s));
    if (wanted.length === 0) return out;
    const where = filterSql(this.filterOf(q));
    let keys: BlockKeys;
    if (where === 'TRUE') keys = await this.attributeKeys();
    else if (where === 'FALSE') keys = { span: new Set(), resource: new Set() };
    else keys = await scanKeys(await this.dataFile(), where, q.signal, this.version, wanted);
    for (const s of wanted) out.set(s, new Set(keys[s]));
    return out;
  }

  async tagValues(tag: TagRef, q: TagQuery): Promise<TypedValue[]> {
    const keys = tag.kind === 'attribute' ? await this.attributeKeys() : undefined;
    const sources = tagSources(tag, keys, this.version);
    if (sources.length === 0) return [];
    const file = await this.dataFile();
    const filter = this.filterOf(q);
    const filtered = filterSql(filter) !== 'TRUE';
    const lists = await Promise.all(
      sources.map((src) => {
        if (filtered) return readTagValues(file, src, filter, q.signal);
        // Blocks never change, so unfiltered answers are kept.
        const key = JSON.stringify(src);
        let p = this.values.get(key);
        if (p === undefined) {
          if (this.values.size >= MAX_CACHED_VALUE_LISTS) this.values.delete(this.values.keys().next().value as string);
          p = readTagValues(file, src, filter);
          this.values.set(key, p);
          // A failed read must not stay cached.
          p.catch(() => this.values.delete(key));
        }
        return p;
      }),
    );
    return lists.flat();
  }

  /** Every trace in ID order, read row group by row group. */
  async *traces(): AsyncGenerator<TraceRecord> {
    const src = await this.dataFile();
    const sql = `SELECT trace_id, ${PAYLOAD_COLUMNS} FROM read_parquet(${sqlString(src.path)})`;
    const release = await src.prepare(sql);
    // A connection of its own: the consumer (a k-way merge) holds several of these streams open at once.
    let conn: DuckDBConnection;
    try {
      conn = await duckdbConnect();
    } catch (err) {
      release();
      throw err;
    }
    try {
      const res = await conn.stream(sql);
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
      release();
    }
  }

  /**
   * Attribute keys present in the block per scope (kept): from keys.json, written with the
   * block; blocks written before it existed are scanned.
   */
  attributeKeys(): Promise<BlockKeys> {
    this.keys ??= (async () => {
      const buf = await this.backend.read(blockPath(this.meta.tenantID, this.meta.blockID, BLOCK_FILES.keys));
      return (buf === null ? null : parseKeysFile(buf, this.version)) ?? (await scanKeys(await this.dataFile(), 'TRUE', undefined, this.version));
    })();
    this.keys.catch(() => {
      this.keys = null;
    });
    return this.keys;
  }

  /** A tag request's filter, narrowed by the columns this block has. */
  private filterOf(q: TagQuery): BlockSearchFilter {
    return { ...q.filter, formatVersion: this.version };
  }

  /** Drops the local cache file or copy of data.parquet made for backends without local paths. */
  async close(): Promise<void> {
    const remote = this.remote;
    this.remote = null;
    await remote?.close();
    const copied = this.copied;
    this.copied = null;
    if (copied === null) return;
    const c = await copied.catch(() => null);
    if (c !== null) await rm(c.dir, { recursive: true, force: true });
  }

  /**
   * data.parquet for DuckDB: the backend's own file when it has local paths; else a sparse cache file
   * that each statement's `prepare` fills with just the ranges it reads (remote-file.ts).
   */
  private async dataFile(): Promise<ParquetSource> {
    const key = blockPath(this.meta.tenantID, this.meta.blockID, BLOCK_FILES.data);
    const local = this.backend.localPath(key);
    if (local !== null) return localSource(local);
    if (this.meta.size > 0) {
      this.remote ??= new SparseParquetFile(this.meta.size, (off, len) => this.backend.readRange(key, off, len));
      return this.remote;
    }
    // No size to place the footer by (a block being rebuilt from its data): fetched whole, kept while the block lives.
    this.copied ??= (async () => {
      const d = await mkdtemp(join(tmpdir(), 'rubato-blockcopy-'));
      const buf = await this.backend.read(key);
      if (buf === null) throw new Error(`block ${this.meta.blockID}: data.parquet missing`);
      const file = join(d, BLOCK_FILES.data);
      await writeFile(file, buf);
      return { dir: d, file };
    })();
    return localSource((await this.copied).file);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
