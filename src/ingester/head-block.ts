import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The head block: traces that stopped receiving spans, appended to a local file until the block is
 * cut and written to the backend as Parquet. Keeping them on disk (not in memory) is what lets the
 * ingester stay inside its memory budget; the WAL still holds the same data, so this file needs no fsync
 * and is thrown away on restart (replay rebuilds it).
 *
 * Record: u32 length of the rest | 16-byte trace ID | f64 offset of this trace's previous record (-1) |
 * encoded tempopb.Trace. A trace cut more than once (it came back after going idle) forms a chain.
 */
const HEADER = 4 + 16 + 8;

export interface HeadBlockInfo {
  readonly tenant: string;
  readonly id: number;
  readonly createdMs: number;
  readonly bytes: number;
  readonly traces: number;
  readonly minSegment: number;
}

export class HeadBlock {
  readonly tenant: string;
  readonly id: number;
  readonly createdMs: number;
  private readonly path: string;
  private fd: number;
  private size = 0;
  /** trace ID → offset of its newest record */
  private readonly index = new Map<string, number>();
  private minSeg = Infinity;
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

  get traceCount(): number {
    return this.index.size;
  }

  get minSegment(): number {
    return this.minSeg;
  }

  info(): HeadBlockInfo {
    return { tenant: this.tenant, id: this.id, createdMs: this.createdMs, bytes: this.size, traces: this.index.size, minSegment: this.minSeg };
  }

  append(traceId: string, trace: Uint8Array, minSegment: number, startNs: number, endNs: number): void {
    const header = Buffer.allocUnsafe(HEADER);
    header.writeUInt32LE(HEADER - 4 + trace.length, 0);
    header.write(traceId, 4, 16, 'hex');
    header.writeDoubleLE(this.index.get(traceId) ?? -1, 20);
    const offset = this.size;
    writeSync(this.fd, header, 0, HEADER, offset);
    writeSync(this.fd, trace, 0, trace.length, offset + HEADER);
    this.size += HEADER + trace.length;
    this.index.set(traceId, offset);
    if (minSegment < this.minSeg) this.minSeg = minSegment;
    if (startNs < this.startNs) this.startNs = startNs;
    if (endNs > this.endNs) this.endNs = endNs;
  }

  has(traceId: string): boolean {
    return this.index.has(traceId);
  }

  /** Every encoded part of a trace in this block, oldest first. */
  read(traceId: string): Uint8Array[] {
    const parts: Uint8Array[] = [];
    let offset = this.index.get(traceId) ?? -1;
    const header = Buffer.allocUnsafe(HEADER);
    while (offset >= 0) {
      readSync(this.fd, header, 0, HEADER, offset);
      const len = header.readUInt32LE(0) - (HEADER - 4);
      const body = Buffer.allocUnsafe(len);
      readSync(this.fd, body, 0, len, offset + HEADER);
      parts.push(body);
      offset = header.readDoubleLE(20);
    }
    return parts.reverse();
  }

  /** Trace IDs in ascending order, as the block writer wants them. */
  sortedTraceIds(): string[] {
    return [...this.index.keys()].sort();
  }

  traceIds(): IterableIterator<string> {
    return this.index.keys();
  }

  /** Closes and deletes the file. */
  discard(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    rmSync(this.path, { force: true });
  }
}
