/**
 * Which WAL write failures are the disk's state rather than the data's fault, so that a refused push
 * tells the client to retry (OTLP clients drop batches refused with a non-retryable code) instead of
 * answering 500/INTERNAL.
 */
import { PushError } from '../model/pusher.js';

/**
 * Errno codes that can clear without anyone touching the data: a full disk or quota, exhausted file
 * descriptors, a device error or a filesystem remounted read-only (both may be fixed by an operator).
 */
const TRANSIENT_CODES: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EMFILE', 'ENFILE', 'EROFS']);

/** True when `err` is a filesystem error that a later retry of the same write may get past. */
export function isTransientIoError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && TRANSIENT_CODES.has(code);
}

/**
 * The refusal a push gets when its WAL write failed with a transient filesystem error: 'unavailable'
 * (503 / UNAVAILABLE), which OTLP exporters retry. Null for any other error.
 */
export function retryableWriteFailure(err: unknown): PushError | null {
  if (!isTransientIoError(err)) return null;
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'ENOSPC' || code === 'EDQUOT' ? 'the disk is full' : 'the disk refused the write';
  return new PushError('unavailable', `ingester cannot write its WAL (${code}: ${why}); retry later`);
}
