/**
 * Segment files: `<dir>/<zero-padded id>.wal`, ids increasing. Naming, listing, and reading one
 * segment back (with torn/corrupt tail truncation).
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeRecord, HEADER_BYTES, newRecordView } from './record.js';

/** The optional logger the WAL reports through (pino-compatible subset). */
export interface WalLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/**
 * Called once per record during replay. `payload` is a view into a reused read buffer: it is valid
 * only until the callback returns — copy it (`Buffer.from(payload)` / `payload.slice()`) to keep it.
 */
export type RecordHandler = (tenant: string, payload: Uint8Array, segment: number) => void;

const ID_DIGITS = 10;
const SEGMENT_RE = /^(\d+)\.wal$/;
/** Read size for replay: large sequential reads keep replay disk-bound rather than syscall-bound. */
export const REPLAY_CHUNK_BYTES = 8 * 1024 * 1024;

export function segmentFileName(id: number): string {
  return `${String(id).padStart(ID_DIGITS, '0')}.wal`;
}

export function segmentPath(dir: string, id: number): string {
  return join(dir, segmentFileName(id));
}

/** Segment ids present in `dir`, ascending. Files that do not look like segments are ignored. */
export async function listSegments(dir: string): Promise<number[]> {
  const ids: number[] = [];
  for (const name of await readdir(dir)) {
    const m = SEGMENT_RE.exec(name);
    if (m !== null) ids.push(Number(m[1]));
  }
  return ids.sort((a, b) => a - b);
}

/** Size in bytes of each segment file, for stats. Segments that vanish meanwhile are skipped. */
export async function segmentSizes(dir: string, ids: readonly number[]): Promise<Map<number, number>> {
  const sizes = new Map<number, number>();
  for (const id of ids) {
    try {
      sizes.set(id, (await stat(segmentPath(dir, id))).size);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return sizes;
}

export interface SegmentReadResult {
  records: number;
  /** Bytes of valid records (the segment's size after any truncation). */
  bytes: number;
  /** Bytes cut off the end because of a torn or corrupt record. */
  truncatedBytes: number;
  corrupt: boolean;
}

/**
 * Reads every valid record of one segment in order. At the first torn or corrupt record the file is
 * truncated to the end of the last good record (and synced), a warning is logged and reading stops.
 * Never throws for bad data; I/O errors (permissions, EIO) do propagate.
 */
export async function readSegment(
  dir: string,
  id: number,
  onRecord: RecordHandler,
  logger: WalLogger | undefined,
  chunkBytes = REPLAY_CHUNK_BYTES,
): Promise<SegmentReadResult> {
  const path = segmentPath(dir, id);
  const fh = await open(path, 'r+');
  try {
    const size = (await fh.stat()).size;
    let buf = Buffer.allocUnsafe(Math.max(HEADER_BYTES, Math.min(chunkBytes, size)));
    const view = newRecordView();
    let bufFileOffset = 0; // file offset of buf[0]
    let filled = 0; // valid bytes in buf
    let pos = 0; // parse position in buf
    let records = 0;
    let badReason = '';
    // Tenants repeat record after record; reuse the decoded string when the bytes match.
    let lastTenantBytes: Buffer = Buffer.alloc(0);
    let lastTenant = '';

    for (;;) {
      const status = decodeRecord(buf, pos, filled, view);
      if (status === 'ok') {
        const tLen = view.tenantEnd - view.tenantStart;
        if (tLen !== lastTenantBytes.length || buf.compare(lastTenantBytes, 0, tLen, view.tenantStart, view.tenantEnd) !== 0) {
          lastTenantBytes = Buffer.from(buf.subarray(view.tenantStart, view.tenantEnd));
          lastTenant = lastTenantBytes.toString('utf8');
        }
        onRecord(lastTenant, buf.subarray(view.payloadStart, view.payloadEnd), id);
        records++;
        pos = view.next;
        continue;
      }
      if (status === 'corrupt') {
        badReason = view.reason;
        break;
      }
      // 'short': need more bytes from the file, unless there are none.
      const unreadInFile = size - (bufFileOffset + filled);
      if (unreadInFile <= 0) {
        if (pos < filled) badReason = 'torn record at end of segment';
        break;
      }
      const goodOffset = bufFileOffset + pos;
      if (goodOffset + view.need > size) {
        badReason = 'torn record at end of segment';
        break;
      }
      // Move the partial record to the front, grow the buffer if the record exceeds it, refill.
      if (view.need > buf.length) {
        const bigger = Buffer.allocUnsafe(view.need);
        buf.copy(bigger, 0, pos, filled);
        buf = bigger;
      } else if (pos > 0) {
        buf.copy(buf, 0, pos, filled);
      }
      filled -= pos;
      bufFileOffset += pos;
      pos = 0;
      const want = Math.min(buf.length - filled, size - (bufFileOffset + filled));
      const { bytesRead } = await fh.read(buf, filled, want, bufFileOffset + filled);
      if (bytesRead === 0) {
        // File shrank under us; treat what is left as torn.
        badReason = 'unexpected end of segment';
        break;
      }
      filled += bytesRead;
    }

    const goodBytes = bufFileOffset + pos;
    if (badReason === '') return { records, bytes: goodBytes, truncatedBytes: 0, corrupt: false };
    const truncatedBytes = size - goodBytes;
    logger?.warn(
      { segment: id, file: path, offset: goodBytes, truncatedBytes, reason: badReason },
      'wal: torn or corrupt record, truncating segment to last good record',
    );
    await fh.truncate(goodBytes);
    await fh.sync();
    return { records, bytes: goodBytes, truncatedBytes, corrupt: true };
  } finally {
    await fh.close();
  }
}
