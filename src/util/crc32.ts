/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the same checksum as zlib's crc32.
 *
 * Node ≥ 20.15 / ≥ 22.2 ship `zlib.crc32` (native, SIMD-accelerated), so it is used when present.
 * Older Node 20 releases lack it; there a slicing-by-8 table implementation takes over. Both give
 * identical results, so a WAL or block written by one is read by the other.
 */
import zlib from 'node:zlib';

/** Computes the CRC-32 of `data`, continuing from `initial` (the result of a previous call) if given. */
export type Crc32Fn = (data: Uint8Array, initial?: number) => number;

// The typings declare crc32 unconditionally, but it is missing at runtime on Node < 20.15.
const nativeCrc32: ((data: NodeJS.ArrayBufferView, value?: number) => number) | undefined = (zlib as Partial<typeof zlib>).crc32;

// Eight 256-entry tables: TABLES[k*256 + b] is the CRC of byte b followed by k zero bytes, which lets
// the loop fold eight input bytes per iteration instead of one.
const TABLES = buildTables();

function buildTables(): Uint32Array {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c >>> 0;
    }
  }
  return t;
}

/** Pure-JS CRC-32 (slicing-by-8). Exported so tests can check it against the native one. */
export function crc32Js(data: Uint8Array, initial = 0): number {
  const t = TABLES;
  let crc = ~initial;
  let i = 0;
  const n = data.length;
  const end8 = n - (n % 8);
  while (i < end8) {
    const a = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) ^ crc;
    crc =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + data[i + 4]!]! ^
      t[512 + data[i + 5]!]! ^
      t[256 + data[i + 6]!]! ^
      t[data[i + 7]!]!;
    i += 8;
  }
  while (i < n) {
    crc = t[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
    i++;
  }
  return ~crc >>> 0;
}

/** True when the native `zlib.crc32` is used. */
export const crc32IsNative: boolean = typeof nativeCrc32 === 'function';

/** CRC-32 of `data`, chained from `initial`. Native when available, JS otherwise. */
export const crc32: Crc32Fn = nativeCrc32 !== undefined ? (data, initial = 0) => nativeCrc32(data, initial) >>> 0 : crc32Js;
