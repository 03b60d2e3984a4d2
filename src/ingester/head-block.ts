import { closeSync, openSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { HeadTagIndex } from './head-tags.js';
import { TraceIdTable } from './trace-id-table.js';

/**
 * The head block: every push's spans, grouped per trace, appended to a local file until the block is
 * cut and written to the backend as Parquet. Span data lives in this file (the page cache), not in the
 * JS heap: memory holds only an index entry per trace, which is what keeps the ingester's memory flat
 * whatever the ingest rate. The WAL holds the same data durably, so this file needs no fsync and is
 * thrown away on restart (replay rebuilds it).
 *
 * Record: u32 length of the rest | 16-byte trace ID | f64 offset of this trace's previous record (-1) |
 * encoded tempopb.Trace. The records of one trace form a chain, newest first.
 */
const HEADER = 4 + 16 + 8;

/** Most text one head block's tag index holds (its names and values). */
const TAG_INDEX_MAX_BYTES = 4 * 1024 * 1024;

/** One trace's spans from one push. */
export interface HeadRecord {
  readonly traceId: string;
  /** Encoded tempopb.Trace. */
  readonly trace: Uint8Array;
  readonly startNs: number;
  readonly endNs: number;
}

export class HeadBlock {
  readonly tenant: string;
  readonly id: number;
  readonly createdMs: number;
  private readonly path: string;
  private fd: number;
  private size = 0;
  /** trace ID → offset of its newest record */
  private readonly index = new TraceIdTable();
  private minSeg = Infinity;
  private tagIndex: HeadTagIndex | null = null;
  startNs = Infinity;
  endNs = 0;

  constructor(dir: string, tenant: string, id: number, nowMs: number) {
    this.tenant = tenant;
    this.id = id;
    this.createdMs = nowMs;
    this.path = join(dir, `${String(id).padStart(10, '0')}.head`);
    this.fd = openSync(this.path, 'w+');
  }

  get bytes(): number {
    return this.size;
  }

  /** Memory held by the index. */
  get indexBytes(): number {
    return this.index.bytes;
  }

  get traceCount(): number {
    return this.index.size;
  }

  /** Its tag names and values, read on first use and kept up as it grows. */
  get tags(): HeadTagIndex {
    this.tagIndex ??= new HeadTagIndex(this, TAG_INDEX_MAX_BYTES);
    return this.tagIndex;
  }

  get minSegment(): number {
    return this.minSeg;
  }

  /** Appends one record per trace with a single write; `segment` is the WAL segment holding them. */
  appendMany(records: readonly HeadRecord[], segment: number): void {
    if (records.length === 0) return;
    let total = 0;
    for (const r of records) total += HEADER + r.trace.length;
    const buf = Buffer.allocUnsafe(total);
    let at = 0;
    for (const r of records) {
      const offset = this.size + at;
      buf.writeUInt32LE(HEADER - 4 + r.trace.length, at);
      buf.write(r.traceId, at + 4, 16, 'hex');
      buf.writeDoubleLE(this.index.get(r.traceId) ?? -1, at + 20);
      buf.set(r.trace, at + HEADER);
      at += HEADER + r.trace.length;
      this.index.set(r.traceId, offset);
      if (r.startNs < this.startNs) this.startNs = r.startNs;
      if (r.endNs > this.endNs) this.endNs = r.endNs;
    }
    writeSync(this.fd, buf, 0, total, this.size);
    this.size += total;
    if (segment < this.minSeg) this.minSeg = segment;
  }

  has(traceId: string): boolean {
    return this.index.has(traceId);
  }

  /** Every encoded part of a trace in this block, oldest first. */
  read(traceId: string): Uint8Array[] {
    // A query that started before the block was written to the backend and discarded finds nothing
    // here any more: the data is in the new block.
    if (this.fd < 0) return [];
    return readTraceChain(this.fd, this.index.get(traceId) ?? -1);
  }

  get filePath(): string {
    return this.path;
  }

  /**
   * Writes the index, sorted by trace ID, beside the head file (`<file>.idx`: 16-byte trace ID and
   * f64 offset of its newest record per entry), so another process can read the block in order.
   */
  writeSortedIndex(): string {
    const path = `${this.path}.idx`;
    writeFileSync(path, this.index.sortedEntries());
    return path;
  }

  /**
   * The encoded parts appended at or after `offset` (a previous call's `next`), in file order, up to
   * the size when called; each with the offset after it. Empty once the block is discarded.
   */
  *recordsFrom(offset: number): Generator<{ trace: Uint8Array; next: number }> {
    const end = this.size;
    const header = Buffer.allocUnsafe(HEADER);
    let at = offset;
    while (at < end && this.fd >= 0) {
      readSync(this.fd, header, 0, HEADER, at);
      const len = header.readUInt32LE(0) - (HEADER - 4);
      const body = Buffer.allocUnsafe(len);
      readSync(this.fd, body, 0, len, at + HEADER);
      at += HEADER + len;
      yield { trace: body, next: at };
    }
  }

  traceIds(): IterableIterator<string> {
    return this.index.keys();
  }

  /** Closes and deletes the file. */
  discard(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    rmSync(this.path, { force: true });
    rmSync(`${this.path}.idx`, { force: true });
  }
}

/** Bytes of one entry of a sorted index file (see writeSortedIndex). */
export const SORTED_ENTRY = 24;

/** Every record of one trace's chain, starting at its newest record's offset; oldest first. */
export function readTraceChain(fd: number, newest: number): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let offset = newest;
  const header = Buffer.allocUnsafe(HEADER);
  while (offset >= 0) {
    readSync(fd, header, 0, HEADER, offset);
    const len = header.readUInt32LE(0) - (HEADER - 4);
    const body = Buffer.allocUnsafe(len);
    readSync(fd, body, 0, len, offset + HEADER);
    parts.push(body);
    offset = header.readDoubleLE(20);
  }
  return parts.reverse();
}
