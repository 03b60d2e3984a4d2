import { gunzip, inflate, inflateRaw } from 'node:zlib';
import type { InputType, ZlibOptions } from 'node:zlib';
import { BodyError } from './failure.js';

type Inflater = (buf: InputType, options: ZlibOptions, cb: (err: Error | null, result: Buffer) => void) => void;

function run(fn: Inflater, raw: Buffer, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxOutputLength makes zlib stop and fail as soon as the output passes the cap, so a gzip bomb
    // costs at most maxBytes of inflating, not its full expansion.
    fn(raw, { maxOutputLength: Math.max(1, maxBytes) }, (err, out) => (err ? reject(err) : resolve(out)));
  });
}

function isTooLarge(err: unknown): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
}

function isBadHeader(err: unknown): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === 'Z_DATA_ERROR' && /header/.test(err.message);
}

async function inflateCapped(encoding: string, raw: Buffer, maxBytes: number): Promise<Buffer> {
  if (encoding === 'gzip' || encoding === 'x-gzip') return run(gunzip, raw, maxBytes);
  // HTTP's "deflate" is zlib-wrapped, but some clients send raw deflate; accept both.
  try {
    return await run(inflate, raw, maxBytes);
  } catch (err) {
    if (isBadHeader(err)) return run(inflateRaw, raw, maxBytes);
    throw err;
  }
}

/**
 * Undoes the request's Content-Encoding, refusing output over maxBytes (413), unknown codings (415) and
 * corrupt streams (400). Throws BodyError.
 */
export async function decodeContentEncoding(
  raw: Buffer,
  contentEncoding: string | undefined,
  maxBytes: number,
): Promise<Buffer> {
  const encoding = (contentEncoding ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return raw;
  if (encoding !== 'gzip' && encoding !== 'x-gzip' && encoding !== 'deflate') {
    throw new BodyError(415, `unsupported Content-Encoding '${encoding}': supported are gzip, deflate`);
  }
  try {
    return await inflateCapped(encoding, raw, maxBytes);
  } catch (err) {
    if (isTooLarge(err)) throw new BodyError(413, `decompressed body exceeds the limit of ${maxBytes} bytes`);
    const reason = err instanceof Error ? err.message : String(err);
    throw new BodyError(400, `invalid ${encoding} body: ${reason}`);
  }
}
