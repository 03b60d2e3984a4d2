/**
 * Segment files: `<dir>/<zero-padded id>.wal`, ids increasing. Naming, listing, and reading one
 * segment back (skipping damaged records, truncating a torn tail).
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeRecord, HEADER_BYTES, newRecordView, RECORD_MAGIC, RECORD_VERSION } from './record.js';

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
  /** Bytes of the valid records replayed. */
  bytes: number;
  /** Size of the segment file after any tail truncation. */
  fileBytes: number;
  /** Bytes cut off the end because of a torn or corrupt tail. */
  truncatedBytes: number;
  /** Damaged stretches in the middle of the segment that were skipped (each held at least one record). */
  skippedStretches: number;
  /** Bytes of those stretches. */
  skippedBytes: number;
  corrupt: boolean;
}

/** A record starts with its magic byte and version: what resynchronisation looks for. */
const SYNC_MARK = Buffer.from([RECORD_MAGIC, RECORD_VERSION]);

/**
 * Reads every valid record of one segment in order.
 *
 * A damaged record does not end the segment: reading resynchronises on the next offset where a whole
 * record decodes (magic and version, a length that fits in the file, and the CRC over header, tenant
 * and payload) and goes on from there, so one flipped bit costs the record it hit and nothing after it.
 * A false resync needs a 32-bit CRC to match over a length-checked frame. Each skipped stretch is
 * logged once. When no valid record follows the damage, it is a torn or corrupt tail: the file is
 * truncated to the end of the last good record (and synced), as a crash mid-write leaves it.
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
    let validBytes = 0;
    let skippedStretches = 0;
    let skippedBytes = 0;
    /** File offset where the damaged stretch being skipped began; -1 while in sync. */
    let badStart = -1;
    let badReason = '';
    // Tenants repeat record after record; reuse the decoded string when the bytes match.
    let lastTenantBytes: Buffer = Buffer.alloc(0);
    let lastTenant = '';

    /** Reads more of the file behind what is loaded, keeping buf[pos..filled); false at end of file. */
    const loadMore = async (): Promise<boolean> => {
      const unread = size - (bufFileOffset + filled);
      if (unread <= 0) return false;
      if (pos > 0) {
        buf.copy(buf, 0, pos, filled);
        filled -= pos;
        bufFileOffset += pos;
        pos = 0;
      }
      const want = Math.min(buf.length - filled, unread);
      const { bytesRead } = await fh.read(buf, filled, want, bufFileOffset + filled);
      if (bytesRead === 0) return false; // the file shrank under us: what is left counts as torn
      filled += bytesRead;
      return true;
    };
    /** Makes `need` bytes from pos available; false if the file ends before that. */
    const ensure = async (need: number): Promise<boolean> => {
      if (bufFileOffset + pos + need > size) return false;
      if (need > buf.length) {
        const bigger = Buffer.allocUnsafe(need);
        buf.copy(bigger, 0, pos, filled);
        filled -= pos;
        bufFileOffset += pos;
        pos = 0;
        buf = bigger;
      }
      while (filled - pos < need) if (!(await loadMore())) return false;
      return true;
    };

    for (;;) {
      if (badStart < 0) {
        const status = decodeRecord(buf, pos, filled, view);
        if (status === 'ok') {
          const tLen = view.tenantEnd - view.tenantStart;
          if (tLen !== lastTenantBytes.length || buf.compare(lastTenantBytes, 0, tLen, view.tenantStart, view.tenantEnd) !== 0) {
            lastTenantBytes = Buffer.from(buf.subarray(view.tenantStart, view.tenantEnd));
            lastTenant = lastTenantBytes.toString('utf8');
          }
          onRecord(lastTenant, buf.subarray(view.payloadStart, view.payloadEnd), id);
          records++;
          validBytes += view.next - pos;
          pos = view.next;
          continue;
        }
        if (status === 'short') {
          if (bufFileOffset + pos >= size) break; // clean end
          if (await ensure(view.need)) continue;
          badReason = 'record runs past the end of the segment';
        } else {
          badReason = view.reason;
        }
        badStart = bufFileOffset + pos;
        pos = Math.min(pos + 1, filled); // at `filled` the resync below loads that byte and retries it
        continue;
      }

      // Resynchronising: try each offset that starts with the record mark.
      const at = buf.subarray(0, filled).indexOf(SYNC_MARK, pos);
      if (at < 0) {
        pos = Math.max(pos, filled - 1); // the mark may straddle the end of what is loaded
        if (!(await loadMore())) break;
        continue;
      }
      pos = at;
      const status = decodeRecord(buf, pos, filled, view);
      if (status === 'ok') {
        const resyncAt = bufFileOffset + pos;
        skippedStretches++;
        skippedBytes += resyncAt - badStart;
        logger?.warn(
          { segment: id, file: path, offset: badStart, skippedBytes: resyncAt - badStart, resyncOffset: resyncAt, reason: badReason },
          'wal: corrupt record skipped, replay resumes at the next valid record',
        );
        badStart = -1;
        continue; // decoded again (and delivered) by the in-sync branch
      }
      // 'short' with a length that fits in the file: load it and try again; otherwise not a record.
      if (status === 'short' && (await ensure(view.need))) continue;
      pos++;
    }

    if (badStart < 0) {
      return { records, bytes: validBytes, fileBytes: size, truncatedBytes: 0, skippedStretches, skippedBytes, corrupt: skippedStretches > 0 };
    }
    const truncatedBytes = size - badStart;
    logger?.warn(
      { segment: id, file: path, offset: badStart, truncatedBytes, reason: badReason },
      'wal: torn or corrupt record at the end of the segment, truncating to the last good record',
    );
    await fh.truncate(badStart);
    await fh.sync();
    return { records, bytes: validBytes, fileBytes: badStart, truncatedBytes, skippedStretches, skippedBytes, corrupt: true };
  } finally {
    await fh.close();
  }
}
