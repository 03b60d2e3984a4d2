import { createGunzip, createInflate, createInflateRaw } from 'node:zlib';
import type { Readable, Transform } from 'node:stream';
import { BodyError } from './failure.js';
import { InflightError, type InflightLease } from './inflight.js';

export interface ReadBodyOptions {
  /** The request's Content-Encoding header. */
  readonly contentEncoding: string | undefined;
  /** Cap on the body both as sent and after decompression; beyond it: BodyError 413. */
  readonly maxBytes: number;
  /**
   * Where the body's bytes are taken from: the bytes as sent plus, when compressed, the decompressed
   * bytes. What the lease already holds (a reservation made before reading) is used first; beyond
   * it bytes are taken as they arrive, and running out is an InflightError (429). When the body is
   * read, the lease is shrunk to the body's size (the compressed bytes are no longer held).
   */
  readonly lease: InflightLease;
  /** The budget's size, for the refusal message. */
  readonly budgetBytes: number;
}

const CODINGS = ['gzip', 'x-gzip', 'deflate'];

/** True for the codings whose decompressed size is unknown until inflated. */
export function isCompressed(contentEncoding: string | undefined): boolean {
  return CODINGS.includes((contentEncoding ?? '').trim().toLowerCase());
}

/** Refuses an unknown Content-Encoding (415) before anything is read. Returns the normalised coding ('' = none). */
export function checkContentEncoding(contentEncoding: string | undefined): string {
  const encoding = (contentEncoding ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return '';
  if (!CODINGS.includes(encoding)) {
    throw new BodyError(415, `unsupported Content-Encoding '${encoding}': supported are gzip, deflate`);
  }
  return encoding;
}

/** HTTP's "deflate" is zlib-wrapped, but some clients send raw deflate: the first two bytes tell which. */
function inflaterFor(encoding: string, first: Buffer): Transform {
  if (encoding !== 'deflate') return createGunzip();
  const zlibWrapped = first.length >= 2 && (first[0]! & 0x0f) === 8 && ((first[0]! << 8) | first[1]!) % 31 === 0;
  return zlibWrapped ? createInflate() : createInflateRaw();
}

/**
 * Reads a request body as it streams in, decompressing on the fly, with every byte held (as sent, and
 * each decompressed chunk) covered by the lease before it is kept. A gzip bomb therefore stops at maxBytes of output (413) or when the shared
 * budget is spent (429), never after inflating in full. On failure the rest of the body is read and
 * dropped, not kept; the caller answers with `Connection: close`.
 */
export function readBody(payload: Readable, opts: ReadBodyOptions): Promise<Buffer> {
  const encoding = checkContentEncoding(opts.contentEncoding);
  return new Promise<Buffer>((resolve, reject) => {
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let sent = 0;
    let settled = false;
    let inflater: Transform | undefined;

    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      payload.off('data', onData);
      payload.off('end', onEnd);
      if (inflater !== undefined) {
        payload.unpipe(inflater);
        inflater.destroy();
      }
      kept.length = 0;
      payload.resume();
      reject(err);
    };
    /** Bytes in memory for this body: as sent, plus the inflated output of a compressed one. */
    const held = (): number => (encoding === '' ? sent : sent + keptBytes);
    /** Makes the lease cover `n` bytes. */
    const cover = (n: number): boolean => {
      if (n <= opts.lease.bytes || opts.lease.take(n - opts.lease.bytes)) return true;
      fail(new InflightError(opts.budgetBytes));
      return false;
    };
    const finish = (): void => {
      if (settled) return;
      settled = true;
      opts.lease.shrinkTo(keptBytes);
      resolve(kept.length === 1 ? kept[0]! : Buffer.concat(kept, keptBytes));
    };
    const keep = (chunk: Buffer): boolean => {
      keptBytes += chunk.length;
      if (keptBytes > opts.maxBytes) {
        fail(new BodyError(413, `${encoding === '' ? 'request body' : 'decompressed body'} exceeds the limit of ${opts.maxBytes} bytes`));
        return false;
      }
      if (encoding !== '' && !cover(held())) return false;
      kept.push(chunk);
      return true;
    };

    function onData(chunk: Buffer): void {
      sent += chunk.length;
      if (sent > opts.maxBytes) {
        fail(new BodyError(413, `request body exceeds the limit of ${opts.maxBytes} bytes`));
        return;
      }
      if (!cover(held())) return;
      if (encoding === '') {
        keep(chunk);
        return;
      }
      if (inflater === undefined) {
        const z = inflaterFor(encoding, chunk);
        inflater = z;
        z.on('data', keep);
        z.on('end', finish);
        z.on('error', (err: Error) => fail(new BodyError(400, `invalid ${encoding} body: ${err.message}`)));
      }
      if (!inflater.write(chunk)) {
        payload.pause();
        inflater.once('drain', () => {
          if (!settled) payload.resume();
        });
      }
    }
    function onEnd(): void {
      if (inflater !== undefined) inflater.end();
      else if (encoding !== '' && sent === 0) fail(new BodyError(400, `invalid ${encoding} body: empty`));
      else finish();
    }

    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.once('error', (err: Error) => fail(new BodyError(400, `reading the request body failed: ${err.message}`)));
    payload.once('aborted', () => fail(new BodyError(400, 'request body aborted by the client')));
  });
}
