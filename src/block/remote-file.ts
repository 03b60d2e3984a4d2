import { readdirSync, rmSync } from 'node:fs';
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { parquetMetadata, type FileMetaData } from 'hyparquet';
import type { ParquetSource } from './parquet-source.js';

/**
 * data.parquet of a block in object storage, as a local sparse cache file. DuckDB needs a local file
 * (its httpfs extension cannot be downloaded here or in an air-gapped cluster), but a query needs only
 * a few of the file's bytes: the footer, and the column chunks of the columns it names in the row
 * groups it can touch. So the file is created at its full size with nothing in it, the footer is
 * fetched and written at its offset, and before each statement the column chunks (with their bloom
 * filters and page indexes) that statement may read are fetched and written at their own offsets.
 * DuckDB then reads only bytes that are present. All cache files together stay under a byte bound;
 * beyond it, whole files not in use are evicted, least recently used first.
 */

export interface BlockCacheOptions {
  /** Folder for the cache files. Default: a folder in the OS temp folder, removed at exit. */
  dir?: string;
  /** Bound on the bytes fetched into cache files, together. Default 1GiB. */
  maxBytes?: number;
}

export const DEFAULT_BLOCK_CACHE_BYTES = 1024 * 1024 * 1024;

/** Reads `length` bytes of the remote object from `offset`. */
export type RangeReader = (offset: number, length: number) => Promise<Buffer>;

/** First read of a file: its tail, which holds the footer in one request for all but huge blocks. */
const TAIL_BYTES = 64 * 1024;
/** Ranges closer than this are fetched as one request: a request costs more than a few KB. */
const MERGE_GAP = 32 * 1024;
/** Largest single request (bounds the memory a fetch holds). */
const MAX_REQUEST = 8 * 1024 * 1024;
const FETCH_CONCURRENCY = 4;

let options: BlockCacheOptions = {};
let currentDir: string | null = null;

/** Sets where cache files go and their bound; call before the first block is read. */
export function configureBlockCache(opts: BlockCacheOptions): void {
  options = { ...opts };
}

/**
 * This process's cache folder: `<dir>/<pid>` (a configured dir) or a folder in the OS temp folder.
 * Cache files are worthless after the process: the folder goes with it, and folders left by processes
 * that died without cleaning up are removed when the next one starts.
 */
function cacheDir(): string {
  const parent = options.dir !== undefined && options.dir !== '' ? options.dir : null;
  const dir = parent !== null ? join(parent, String(process.pid)) : join(tmpdir(), `rubato-block-cache-${process.pid}`);
  if (currentDir !== dir) {
    if (parent !== null) removeDeadProcessFolders(parent);
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    currentDir = dir;
  }
  return dir;
}

function removeDeadProcessFolders(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return; // not there yet
  }
  for (const n of names) {
    if (!/^\d+$/.test(n) || Number(n) === process.pid) continue;
    try {
      process.kill(Number(n), 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') rmSync(join(parent, n), { recursive: true, force: true });
    }
  }
}

/** All cache files, least recently used first, and the bytes they hold. */
const lru = new Set<SparseParquetFile>();
let cachedBytes = 0;

/** Bytes held by cache files now (for tests and the bench). */
export function blockCacheBytes(): number {
  return cachedBytes;
}

async function evictOver(keep: SparseParquetFile): Promise<void> {
  const max = options.maxBytes ?? DEFAULT_BLOCK_CACHE_BYTES;
  for (const f of [...lru]) {
    if (cachedBytes <= max) return;
    if (f === keep || f.inUse()) continue;
    await f.evict();
  }
}

type Range = [start: number, end: number];

export class SparseParquetFile implements ParquetSource {
  readonly path: string;
  private fh: FileHandle | null = null;
  /** Present byte ranges, sorted and disjoint. */
  private present: Range[] = [];
  private footer: Buffer | null = null;
  private meta: FileMetaData | null = null;
  private leases = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private columnWords = new Map<string, RegExp>();
  /** Bytes and requests fetched for this file (over its whole life, evictions included). */
  readonly fetched = { bytes: 0, requests: 0 };

  constructor(
    /** Size of the remote object in bytes (meta.json's `size`). */
    private readonly size: number,
    private readonly read: RangeReader,
  ) {
    this.path = join(cacheDir(), `${randomUUID()}.parquet`);
  }

  inUse(): boolean {
    return this.leases > 0;
  }

  async prepare(sql: string, traceIds?: readonly string[]): Promise<() => void> {
    this.leases++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.leases--;
    };
    lru.delete(this);
    lru.add(this);
    try {
      // One fetch at a time per file: concurrent statements would otherwise fetch the same chunks twice.
      const run = this.queue.then(() => this.ensure(sql, traceIds));
      this.queue = run.catch(() => undefined);
      await run;
      await evictOver(this);
    } catch (err) {
      release();
      throw err;
    }
    return release;
  }

  /**
   * Drops the local file unless a statement holds it (the footer stays in memory, so the next use needs
   * no request for it). Queued behind fetches, so a file being filled is never removed under them.
   */
  async evict(): Promise<void> {
    const run = this.queue.then(() => (this.leases === 0 ? this.dropFile() : undefined));
    this.queue = run.catch(() => undefined);
    await run;
  }

  private async dropFile(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    cachedBytes -= this.presentBytes();
    this.present = [];
    if (fh !== null) await fh.close();
    await rm(this.path, { force: true });
  }

  /** For good: the block left the block list. */
  async close(): Promise<void> {
    lru.delete(this);
    const run = this.queue.then(() => this.dropFile());
    this.queue = run.catch(() => undefined);
    await run;
  }

  private presentBytes(): number {
    let n = 0;
    for (const [s, e] of this.present) n += e - s;
    return n;
  }

  private async ensure(sql: string, traceIds: readonly string[] | undefined): Promise<void> {
    if (this.fh === null) {
      await mkdir(cacheDir(), { recursive: true });
      const fh = await open(this.path, 'w+');
      try {
        await fh.truncate(this.size);
        // Parquet's leading magic: a constant, not worth a request.
        await fh.write(Buffer.from('PAR1'), 0, 4, 0);
      } catch (err) {
        await fh.close();
        throw err;
      }
      this.fh = fh;
      this.addPresent([[0, 4]]);
    }
    if (this.footer === null) this.footer = await this.fetchFooter();
    const footerStart = this.size - this.footer.byteLength;
    if (!this.covered(footerStart, this.size)) {
      await this.fh.write(this.footer, 0, this.footer.byteLength, footerStart);
      this.addPresent([[footerStart, this.size]]);
    }
    this.meta ??= parquetMetadata(this.footer);
    const wanted = this.rangesFor(this.meta, sql, traceIds, footerStart);
    await this.fetchRanges(this.fh, missing(mergeRanges(wanted, MERGE_GAP), this.present));
  }

  private async fetchFooter(): Promise<Buffer> {
    if (this.size < 12) throw new Error(`parquet file too small (${this.size} bytes)`);
    const tailLen = Math.min(this.size, TAIL_BYTES);
    const tail = await this.fetch(this.size - tailLen, tailLen);
    if (tail.byteLength !== tailLen || tail.toString('latin1', tailLen - 4) !== 'PAR1')
      throw new Error('parquet file invalid: footer magic missing (truncated?)');
    const metaLen = tail.readUInt32LE(tailLen - 8);
    if (metaLen + 12 > this.size) throw new Error(`parquet footer length ${metaLen} exceeds the file (corrupt)`);
    if (metaLen + 8 <= tailLen) return tail.subarray(tailLen - metaLen - 8);
    const more = await this.fetch(this.size - tailLen - (metaLen + 8 - tailLen), metaLen + 8 - tailLen);
    return Buffer.concat([more, tail]);
  }

  /** Byte ranges of the column chunks `sql` names, in the row groups that may hold `traceIds`. */
  private rangesFor(meta: FileMetaData, sql: string, traceIds: readonly string[] | undefined, footerStart: number): Range[] {
    // The file's own path is no column reference.
    const text = sql.replace(/read_parquet\('(?:[^']|'')*'\)/g, 'read_parquet()');
    const all = text.includes('*');
    const ids = traceIds === undefined || traceIds.length === 0 ? null : [...traceIds].sort();
    const out: Range[] = [];
    for (const rg of meta.row_groups) {
      if (ids !== null) {
        // DuckDB prunes row groups by trace_id statistics against each ID (an IN list is checked value
        // by value), so a row group none of the IDs can be in is never read.
        const idChunk = rg.columns.find((c) => c.meta_data?.path_in_schema[0] === 'trace_id');
        const st = idChunk?.meta_data?.statistics;
        const lo = st?.min_value ?? st?.min;
        const hi = st?.max_value ?? st?.max;
        if (typeof lo === 'string' && typeof hi === 'string' && !anyWithin(ids, lo, hi)) continue;
      }
      for (const c of rg.columns) {
        const md = c.meta_data;
        if (md === undefined) continue;
        const name = md.path_in_schema[0] ?? '';
        if (!all && !this.names(text, name)) continue;
        const data = Number(md.data_page_offset);
        const dict = md.dictionary_page_offset === undefined ? 0 : Number(md.dictionary_page_offset);
        const start = dict >= 4 && dict < data ? dict : data;
        out.push([start, start + Number(md.total_compressed_size)]);
        if (md.bloom_filter_offset !== undefined) {
          const b = Number(md.bloom_filter_offset);
          out.push([b, md.bloom_filter_length !== undefined ? b + md.bloom_filter_length : footerStart]);
        }
        if (c.column_index_offset !== undefined && c.column_index_length !== undefined) {
          const s = Number(c.column_index_offset);
          out.push([s, s + c.column_index_length]);
        }
        if (c.offset_index_offset !== undefined && c.offset_index_length !== undefined) {
          const s = Number(c.offset_index_offset);
          out.push([s, s + c.offset_index_length]);
        }
      }
    }
    return out.map(([s, e]): Range => [Math.max(0, s), Math.min(this.size, e)]).filter(([s, e]) => e > s);
  }

  private names(sql: string, column: string): boolean {
    let re = this.columnWords.get(column);
    if (re === undefined) {
      re = new RegExp(`(^|[^A-Za-z0-9_])${column.replace(/[^A-Za-z0-9_]/g, '\\$&')}($|[^A-Za-z0-9_])`);
      this.columnWords.set(column, re);
    }
    return re.test(sql);
  }

  private async fetchRanges(fh: FileHandle, ranges: Range[]): Promise<void> {
    const pieces: Range[] = [];
    for (const [s, e] of ranges) for (let p = s; p < e; p += MAX_REQUEST) pieces.push([p, Math.min(e, p + MAX_REQUEST)]);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < pieces.length) {
        const [s, e] = pieces[next++]!;
        const buf = await this.fetch(s, e - s);
        if (buf.byteLength !== e - s) throw new Error(`parquet object truncated: ${buf.byteLength} of ${e - s} bytes at ${s}`);
        await fh.write(buf, 0, buf.byteLength, s);
        this.addPresent([[s, e]]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY, pieces.length) }, worker));
  }

  private async fetch(offset: number, length: number): Promise<Buffer> {
    const buf = await this.read(offset, length);
    this.fetched.bytes += buf.byteLength;
    this.fetched.requests++;
    return buf;
  }

  private covered(s: number, e: number): boolean {
    return missing([[s, e]], this.present).length === 0;
  }

  private addPresent(add: Range[]): void {
    const before = this.presentBytes();
    this.present = mergeRanges([...this.present, ...add], 0);
    cachedBytes += this.presentBytes() - before;
  }
}

/** Whether some of the sorted `ids` lies in [lo, hi]. */
function anyWithin(ids: readonly string[], lo: string, hi: string): boolean {
  let a = 0;
  let b = ids.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if (ids[m]! < lo) a = m + 1;
    else b = m;
  }
  return a < ids.length && ids[a]! <= hi;
}

/** Sorted union of ranges; ranges at most `gap` apart become one. */
export function mergeRanges(ranges: readonly Range[], gap: number): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && s <= last[1] + gap) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/** Parts of `want` (sorted, disjoint) not in `have` (sorted, disjoint). */
export function missing(want: readonly Range[], have: readonly Range[]): Range[] {
  const out: Range[] = [];
  let j = 0;
  for (const [ws, we] of want) {
    let s = ws;
    while (j < have.length && have[j]![1] <= s) j++;
    let k = j;
    while (s < we) {
      const h = have[k];
      if (h === undefined || h[0] >= we) {
        out.push([s, we]);
        break;
      }
      if (h[0] > s) out.push([s, h[0]]);
      s = Math.max(s, h[1]);
      k++;
    }
  }
  return out;
}
