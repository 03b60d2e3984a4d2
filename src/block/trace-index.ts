/**
 * The block's `index` file: every trace ID with its first row and row count in data.parquet, sorted by
 * ID. It is paged so a reader keeps only the first ID of each page in memory and reads one page per
 * lookup: memory stays small across many blocks and a lookup is one range read plus two binary searches.
 *
 * Layout (little endian):
 *   header (32 bytes): magic "RBTI", version u32 = 1, entry count u32, entries per page u32,
 *                      page count u32, summary offset u32, 8 reserved bytes
 *   entries at 32:     entry count × (trace ID 16 bytes, first row u32, row count u32)
 *   summary:           page count × first trace ID of the page (16 bytes)
 */

const MAGIC = 0x49544252; // "RBTI"
const VERSION = 1;
export const INDEX_HEADER_BYTES = 32;
const ENTRY_BYTES = 24;
const ID_BYTES = 16;
const DEFAULT_PAGE_ENTRIES = 256;

export interface TraceIndexEntry {
  /** 32 lowercase hex characters. */
  readonly traceId: string;
  readonly firstRow: number;
  readonly rowCount: number;
}

export interface TraceIndexBuilder {
  /** Adds the next trace; IDs must be strictly ascending. */
  add(traceId: string, firstRow: number, rowCount: number): void;
  readonly count: number;
  /** Trace IDs added so far, in order. */
  ids(): Iterable<string>;
  /** The serialized index file. */
  finish(): Uint8Array;
}

/** Builds an index incrementally in one growing buffer (no object per trace). */
export function createTraceIndexBuilder(pageEntries = DEFAULT_PAGE_ENTRIES): TraceIndexBuilder {
  let buf = Buffer.alloc(ENTRY_BYTES * 1024);
  let count = 0;
  let prev = '';
  return {
    add(traceId, firstRow, rowCount) {
      const id = traceId.toLowerCase();
      if (id.length !== 32 || !/^[0-9a-f]{32}$/.test(id)) throw new Error(`trace index: bad trace ID ${traceId}`);
      if (id <= prev) throw new Error(`trace index: IDs not strictly ascending at ${traceId}`);
      prev = id;
      if ((count + 1) * ENTRY_BYTES > buf.byteLength) {
        const bigger = Buffer.alloc(buf.byteLength * 2);
        buf.copy(bigger);
        buf = bigger;
      }
      const off = count * ENTRY_BYTES;
      buf.write(id, off, ID_BYTES, 'hex');
      buf.writeUInt32LE(firstRow, off + 16);
      buf.writeUInt32LE(rowCount, off + 20);
      count++;
    },
    get count() {
      return count;
    },
    *ids() {
      for (let i = 0; i < count; i++) yield buf.toString('hex', i * ENTRY_BYTES, i * ENTRY_BYTES + ID_BYTES);
    },
    finish() {
      const pages = Math.ceil(count / pageEntries);
      const summaryOffset = INDEX_HEADER_BYTES + count * ENTRY_BYTES;
      const out = Buffer.alloc(summaryOffset + pages * ID_BYTES);
      out.writeUInt32LE(MAGIC, 0);
      out.writeUInt32LE(VERSION, 4);
      out.writeUInt32LE(count, 8);
      out.writeUInt32LE(pageEntries, 12);
      out.writeUInt32LE(pages, 16);
      out.writeUInt32LE(summaryOffset, 20);
      buf.copy(out, INDEX_HEADER_BYTES, 0, count * ENTRY_BYTES);
      for (let p = 0; p < pages; p++) {
        const src = p * pageEntries * ENTRY_BYTES;
        buf.copy(out, summaryOffset + p * ID_BYTES, src, src + ID_BYTES);
      }
      return out;
    },
  };
}

/** Reads a byte range of the index file (a backend readRange bound to the file). */
export type RangeReader = (offset: number, length: number) => Promise<Uint8Array>;

export interface TraceIndex {
  readonly entryCount: number;
  find(traceId: string): Promise<TraceIndexEntry | null>;
}

/** Opens an index by reading its header and page summary only. */
export async function openTraceIndex(read: RangeReader): Promise<TraceIndex> {
  const header = Buffer.from(await read(0, INDEX_HEADER_BYTES));
  if (header.byteLength < INDEX_HEADER_BYTES || header.readUInt32LE(0) !== MAGIC) throw new Error('trace index: bad magic');
  if (header.readUInt32LE(4) !== VERSION) throw new Error('trace index: unsupported version');
  const entryCount = header.readUInt32LE(8);
  const pageEntries = header.readUInt32LE(12);
  const pages = header.readUInt32LE(16);
  const summaryOffset = header.readUInt32LE(20);
  const summary = Buffer.from(await read(summaryOffset, pages * ID_BYTES));

  return {
    entryCount,
    async find(traceId) {
      const id = Buffer.from(traceId.toLowerCase(), 'hex');
      if (id.byteLength !== ID_BYTES || entryCount === 0) return null;
      // Last page whose first ID ≤ id.
      let lo = 0;
      let hi = pages - 1;
      let page = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if (Buffer.compare(summary.subarray(mid * ID_BYTES, (mid + 1) * ID_BYTES), id) <= 0) {
          page = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (page < 0) return null;
      const first = page * pageEntries;
      const count = Math.min(pageEntries, entryCount - first);
      const buf = Buffer.from(await read(INDEX_HEADER_BYTES + first * ENTRY_BYTES, count * ENTRY_BYTES));
      lo = 0;
      hi = count - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const off = mid * ENTRY_BYTES;
        const c = Buffer.compare(buf.subarray(off, off + ID_BYTES), id);
        if (c === 0) {
          return { traceId: id.toString('hex'), firstRow: buf.readUInt32LE(off + 16), rowCount: buf.readUInt32LE(off + 20) };
        }
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
      }
      return null;
    },
  };
}
