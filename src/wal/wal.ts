/**
 * The ingester's write-ahead log: append with group commit, replay, rotation, cleanup.
 *
 * Group commit: `append` only queues a record. One writer loop takes everything queued, writes it
 * with one writev and one fdatasync, then resolves all those promises. Records queued while that
 * fsync runs form the next batch, so batches grow with load without any timer.
 *
 * Failure rule: if a write or fsync fails, every record of that batch is rejected and the segment is
 * abandoned (truncated back to its last durable byte, best effort, and closed); the next batch starts
 * a fresh segment. A failed fsync may have dropped dirty pages that a later fsync would then report
 * as clean, so nothing is ever appended after a failure in the same file. A segment that holds no
 * durable record when it is abandoned is deleted and its id reused, so a full disk that refuses push
 * after push leaves no pile of empty segment files; the WAL needs nothing but free space to recover.
 *
 * A refused batch is normally not on disk at all (the truncation removes it). If that truncation
 * fails too, its records may sit at the end of the abandoned segment and be replayed after a restart
 * although the client was told to retry: that is duplication of spans the client sends again, which
 * trace lookup and compaction already remove, never loss.
 */
import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { encodeRecordHead } from './record.js';
import { isTransientIoError } from './io-errors.js';
import { listSegments, readSegment, segmentPath, segmentSizes, type RecordHandler, type WalLogger } from './segment.js';

export type { RecordHandler, WalLogger } from './segment.js';

export interface WalOptions {
  /** Directory of the segment files; created if missing. */
  dir: string;
  /** Rotate to a new segment before a batch would grow the current one past this. Default 64 MiB. */
  segmentBytes?: number;
  /** fdatasync each batch (and the directory on segment creation). Default true; false only for tests/benches. */
  fsync?: boolean;
  logger?: WalLogger;
}

export interface ReplayStats {
  segments: number;
  records: number;
  /** Bytes of valid records replayed. */
  bytes: number;
  /** Bytes cut off torn or corrupt segment tails. */
  truncatedBytes: number;
  /** Damaged stretches skipped in the middle of segments; each held at least one record. */
  skippedStretches: number;
  /** Bytes of those stretches. */
  skippedBytes: number;
  corruptSegments: number;
}

export interface WalStats {
  /** Segment files on disk (the current one counts once it has been created). */
  segments: number;
  /** Total bytes of all segment files. */
  bytes: number;
  /** Segment the next append goes to. */
  currentSegment: number;
  /** Records made durable since open. */
  appends: number;
  /** fsync/fdatasync calls since open (batch syncs plus directory syncs on segment creation). */
  fsyncs: number;
  /** Record bytes written since open. */
  bytesWritten: number;
}

export interface Wal {
  /**
   * Appends one record; resolves with the segment id it landed in once it is durable. Rejects if the
   * write fails or the WAL is closed. The caller must not modify `payload` until the promise settles
   * (it is written without copying).
   */
  append(tenant: string, payload: Uint8Array): Promise<number>;
  /**
   * Reads all segments that existed at open, oldest first. Call before the first append. `payload` is
   * a view into a reused buffer, valid only during the callback: copy it to keep it. A damaged record
   * is skipped with a warning and replay resumes at the next valid one; a torn or corrupt tail is
   * truncated with a warning. Neither throws.
   */
  replay(onRecord: RecordHandler): Promise<ReplayStats>;
  /**
   * Closes the current segment once everything appended before this call is durable, and resolves
   * with the new current segment id: every earlier record lives in a segment below it. A no-op
   * (same id) when the current segment holds nothing yet.
   */
  cut(): Promise<number>;
  /** Deletes segment files with id < `segment` (never the current one). */
  removeBefore(segment: number): Promise<void>;
  /** Commits pending appends and closes; later appends reject. */
  close(): Promise<void>;
  stats(): WalStats;
}

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

interface RecordOp {
  kind: 'record';
  head: Buffer;
  payload: Uint8Array;
  size: number;
  resolve: (segment: number) => void;
  reject: (err: Error) => void;
}

interface ControlOp {
  kind: 'cut' | 'close';
  resolve: (segment: number) => void;
  reject: (err: Error) => void;
}

type Op = RecordOp | ControlOp;

export async function openWal(opts: WalOptions): Promise<Wal> {
  const segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  if (!(segmentBytes > 0)) throw new RangeError('wal: segmentBytes must be > 0');
  await mkdir(opts.dir, { recursive: true });
  const existing = await listSegments(opts.dir);
  const sizes = await segmentSizes(opts.dir, existing);
  const last = existing.length > 0 ? existing[existing.length - 1]! : 0;
  opts.logger?.info({ dir: opts.dir, segments: existing.length, nextSegment: last + 1 }, 'wal: opened');
  return new GroupCommitWal(opts.dir, segmentBytes, opts.fsync ?? true, opts.logger, existing, sizes, last + 1);
}

class GroupCommitWal implements Wal {
  private queue: Op[] = [];
  private running = false;
  private closing = false;
  private closed = false;
  /** Open handle of the current segment; null until its first batch (segments are created lazily). */
  private fh: FileHandle | null = null;
  /** Durable size of the current segment. */
  private curSize = 0;
  private appends = 0;
  private fsyncs = 0;
  private bytesWritten = 0;
  /** Failed batches since the last successful one; the first is logged as a warning, the rest only counted. */
  private failuresInARow = 0;

  constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private readonly doFsync: boolean,
    private readonly logger: WalLogger | undefined,
    /** Segments that existed at open: what replay reads. */
    private readonly replayable: readonly number[],
    private readonly sizes: Map<number, number>,
    private current: number,
  ) {}

  append(tenant: string, payload: Uint8Array): Promise<number> {
    if (this.closing) return Promise.reject(new Error('wal: closed'));
    let head: Buffer;
    try {
      head = encodeRecordHead(tenant, payload);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ kind: 'record', head, payload, size: head.length + payload.length, resolve, reject });
      this.kick();
    });
  }

  cut(): Promise<number> {
    if (this.closing) return Promise.reject(new Error('wal: closed'));
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ kind: 'cut', resolve, reject });
      this.kick();
    });
  }

  async close(): Promise<void> {
    if (this.closing) {
      if (this.closed) return;
      await new Promise<number>((resolve, reject) => {
        this.queue.push({ kind: 'close', resolve, reject });
        this.kick();
      });
      return;
    }
    this.closing = true;
    await new Promise<number>((resolve, reject) => {
      this.queue.push({ kind: 'close', resolve, reject });
      this.kick();
    });
  }

  async replay(onRecord: RecordHandler): Promise<ReplayStats> {
    const st: ReplayStats = { segments: 0, records: 0, bytes: 0, truncatedBytes: 0, skippedStretches: 0, skippedBytes: 0, corruptSegments: 0 };
    const started = Date.now();
    for (const id of this.replayable) {
      if (!this.sizes.has(id)) continue; // removed since open
      const r = await readSegment(this.dir, id, onRecord, this.logger);
      this.sizes.set(id, r.fileBytes);
      st.segments++;
      st.records += r.records;
      st.bytes += r.bytes;
      st.truncatedBytes += r.truncatedBytes;
      st.skippedStretches += r.skippedStretches;
      st.skippedBytes += r.skippedBytes;
      if (r.corrupt) st.corruptSegments++;
    }
    this.logger?.info({ ...st, ms: Date.now() - started }, 'wal: replay done');
    return st;
  }

  async removeBefore(segment: number): Promise<void> {
    const limit = Math.min(segment, this.current);
    for (const id of await listSegments(this.dir)) {
      if (id >= limit) break;
      try {
        await unlink(segmentPath(this.dir, id));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      this.sizes.delete(id);
    }
  }

  stats(): WalStats {
    let bytes = 0;
    for (const b of this.sizes.values()) bytes += b;
    return {
      segments: this.sizes.size,
      bytes,
      currentSegment: this.current,
      appends: this.appends,
      fsyncs: this.fsyncs,
      bytesWritten: this.bytesWritten,
    };
  }

  // Deferred by a microtask so every append issued in the same tick lands in the first batch.
  private kick(): void {
    if (this.running) return;
    this.running = true;
    queueMicrotask(() => void this.run());
  }

  private async run(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const ops = this.queue;
        this.queue = [];
        await this.process(ops);
      }
    } finally {
      this.running = false;
    }
  }

  /** Handles one drained queue in order; settles every op, never throws. */
  private async process(ops: Op[]): Promise<void> {
    let i = 0;
    while (i < ops.length) {
      const op = ops[i]!;
      if (op.kind !== 'record') {
        try {
          if (op.kind === 'cut') {
            if (this.closed) throw new Error('wal: closed');
            await this.rotate();
          } else {
            await this.closeCurrent();
            this.closed = true;
          }
          op.resolve(this.current);
        } catch (err) {
          op.reject(err as Error);
        }
        i++;
        continue;
      }
      if (this.closed) {
        op.reject(new Error('wal: closed'));
        i++;
        continue;
      }
      // Take the longest run of records that fits in the current segment; a non-empty segment that
      // cannot take even the first record is rotated. An oversized record gets a segment of its own.
      let j = i;
      let bytes = 0;
      while (j < ops.length) {
        const next = ops[j]!;
        if (next.kind !== 'record') break;
        if (this.curSize + bytes + next.size > this.segmentBytes && this.curSize + bytes > 0) break;
        bytes += next.size;
        j++;
      }
      if (j === i) {
        try {
          await this.rotate();
        } catch (err) {
          // A failed close still leaves curSize > 0; abandon so the loop cannot spin.
          await this.abandon(err as Error);
        }
        continue;
      }
      await this.commit(ops.slice(i, j) as RecordOp[], bytes);
      i = j;
    }
  }

  private async commit(batch: RecordOp[], bytes: number): Promise<void> {
    try {
      const fh = this.fh ?? (await this.createSegment());
      const bufs: Uint8Array[] = new Array<Uint8Array>(batch.length * 2);
      for (let k = 0; k < batch.length; k++) {
        bufs[2 * k] = batch[k]!.head;
        bufs[2 * k + 1] = batch[k]!.payload;
      }
      await writeAll(fh, bufs, this.curSize, bytes);
      if (this.doFsync) {
        this.fsyncs++;
        await fh.datasync();
      }
    } catch (err) {
      for (const r of batch) r.reject(err as Error);
      await this.abandon(err as Error);
      return;
    }
    if (this.failuresInARow > 0) {
      this.logger?.info({ segment: this.current, failedBatches: this.failuresInARow }, 'wal: writes succeed again');
      this.failuresInARow = 0;
    }
    this.curSize += bytes;
    this.sizes.set(this.current, this.curSize);
    this.appends += batch.length;
    this.bytesWritten += bytes;
    const id = this.current;
    for (const r of batch) r.resolve(id);
  }

  private async createSegment(): Promise<FileHandle> {
    // 'wx': never append to a file we did not create in this process.
    const fh = await open(segmentPath(this.dir, this.current), 'wx');
    this.fh = fh;
    this.curSize = 0;
    this.sizes.set(this.current, 0);
    if (this.doFsync) {
      // The new file's directory entry must be durable too, or a crash could lose the whole file.
      const dh = await open(this.dir, 'r');
      try {
        this.fsyncs++;
        await dh.sync();
      } finally {
        await dh.close();
      }
    }
    return fh;
  }

  /** Closes the current segment (its records are already durable) and moves to the next id. */
  private async rotate(): Promise<void> {
    if (this.fh === null && this.curSize === 0) return;
    await this.closeCurrent();
    this.current++;
    this.curSize = 0;
  }

  private async closeCurrent(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    if (fh !== null) await fh.close();
  }

  /**
   * After a failed write/fsync: cut the file back to its last durable byte (best effort; replay would
   * drop a torn tail anyway), close it and switch to a fresh segment for the next batch. A segment we
   * created that holds nothing durable is deleted instead and its id reused, so repeated failures
   * (a full disk) do not leave one empty file per refused batch.
   */
  private async abandon(cause: Error): Promise<void> {
    const id = this.current;
    this.failuresInARow++;
    // Under a full disk every push fails the same way: warn once per failing stretch, not per push
    // (the next success logs how many batches failed in between).
    if (this.failuresInARow === 1) {
      const code = (cause as NodeJS.ErrnoException).code;
      this.logger?.warn(
        { segment: id, durableBytes: this.curSize, code, transient: isTransientIoError(cause), err: cause.message },
        'wal: write failed, abandoning segment; appends fail until a write succeeds',
      );
    }
    const fh = this.fh;
    this.fh = null;
    if (fh !== null) {
      try {
        await fh.truncate(this.curSize);
      } catch {
        // The file may be on a failing device; replay copes with the tail.
      }
      try {
        await fh.close();
      } catch {
        // Nothing more to do with this handle.
      }
    }
    if (this.curSize === 0 && fh !== null && (await this.removeEmpty(id))) return;
    // Nothing was created (e.g. no free inode): the id is still unused, unless the name was taken.
    if (this.curSize === 0 && fh === null && (cause as NodeJS.ErrnoException).code !== 'EEXIST') return;
    this.current = id + 1;
    this.curSize = 0;
  }

  /** Deletes an abandoned segment that holds no record; false if it could not be deleted. */
  private async removeEmpty(id: number): Promise<boolean> {
    try {
      await unlink(segmentPath(this.dir, id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false;
    }
    this.sizes.delete(id);
    return true;
  }
}

/** writev until every byte is down; libuv usually does this already, but a short write must not pass silently. */
async function writeAll(fh: FileHandle, bufs: Uint8Array[], position: number, total: number): Promise<void> {
  let written = 0;
  let rest = bufs;
  for (;;) {
    const { bytesWritten } = await fh.writev(rest, position + written);
    written += bytesWritten;
    if (written >= total) return;
    if (bytesWritten === 0) throw new Error('wal: writev wrote 0 bytes');
    rest = dropBytes(rest, bytesWritten);
  }
}

function dropBytes(bufs: Uint8Array[], n: number): Uint8Array[] {
  let k = 0;
  let left = n;
  while (k < bufs.length && left >= bufs[k]!.length) {
    left -= bufs[k]!.length;
    k++;
  }
  const out = bufs.slice(k);
  if (left > 0 && out.length > 0) out[0] = out[0]!.subarray(left);
  return out;
}
