/**
 * Bloom filter over trace IDs, stored as the block's `bloom` file. Trace IDs are hashed rather than used
 * as bits directly because some clients (Zipkin/Jaeger 64-bit IDs) leave half of the ID zero.
 *
 * File layout (little endian): magic "RBBF", version u32 = 1, hash count u32, bit count u32, bits.
 */

const MAGIC = 0x46424252; // "RBBF"
const VERSION = 1;
const HEADER_BYTES = 16;

export interface BloomFilter {
  add(traceId: string): void;
  mayContain(traceId: string): boolean;
  serialize(): Uint8Array;
}

/** Sizes a filter for `expectedItems` at `falsePositiveRate` (default 1%). */
export function createBloomFilter(expectedItems: number, falsePositiveRate = 0.01): BloomFilter {
  const n = Math.max(1, expectedItems);
  // 0 would ask for infinite bits, 1 for none: keep the rate where the formula means something.
  const p = Math.min(0.5, Math.max(1e-6, falsePositiveRate));
  const bits = Math.max(64, Math.ceil((-n * Math.log(p)) / (Math.LN2 * Math.LN2)));
  const hashes = Math.max(1, Math.round((bits / n) * Math.LN2));
  const nbits = Math.ceil(bits / 8) * 8;
  return bloomOver(new Uint8Array(nbits / 8), nbits, hashes);
}

/** Reads a filter written by `serialize`. */
export function parseBloomFilter(buf: Uint8Array): BloomFilter {
  if (buf.byteLength < HEADER_BYTES) throw new Error('bloom: file too short');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint32(0, true) !== MAGIC) throw new Error('bloom: bad magic');
  if (dv.getUint32(4, true) !== VERSION) throw new Error('bloom: unsupported version');
  const hashes = dv.getUint32(8, true);
  const nbits = dv.getUint32(12, true);
  if (buf.byteLength < HEADER_BYTES + nbits / 8) throw new Error('bloom: truncated');
  return bloomOver(buf.slice(HEADER_BYTES, HEADER_BYTES + nbits / 8), nbits, hashes);
}

function bloomOver(bits: Uint8Array, nbits: number, hashes: number): BloomFilter {
  // Kirsch–Mitzenmacher: k probes from two hashes.
  function probe(traceId: string, visit: (bit: number) => boolean): boolean {
    const [h1, h2] = hashId(traceId);
    for (let i = 0; i < hashes; i++) {
      const bit = ((h1 + Math.imul(i, h2)) >>> 0) % nbits;
      if (!visit(bit)) return false;
    }
    return true;
  }
  return {
    add(traceId) {
      probe(traceId, (bit) => {
        bits[bit >>> 3]! |= 1 << (bit & 7);
        return true;
      });
    },
    mayContain(traceId) {
      return probe(traceId, (bit) => (bits[bit >>> 3]! & (1 << (bit & 7))) !== 0);
    },
    serialize() {
      const out = new Uint8Array(HEADER_BYTES + bits.byteLength);
      const dv = new DataView(out.buffer);
      dv.setUint32(0, MAGIC, true);
      dv.setUint32(4, VERSION, true);
      dv.setUint32(8, hashes, true);
      dv.setUint32(12, nbits, true);
      out.set(bits, HEADER_BYTES);
      return out;
    },
  };
}

/** Two independent 32-bit murmur3-style hashes of the ID's 16 bytes (case-insensitive hex). */
function hashId(traceId: string): [number, number] {
  let a = 0x9747b28c;
  let b = 0x5bd1e995;
  const id = traceId.toLowerCase();
  for (let i = 0; i < id.length; i += 8) {
    const k0 = parseInt(id.slice(i, i + 8).padEnd(8, '0'), 16) | 0;
    let k = Math.imul(k0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    a ^= k;
    a = (a << 13) | (a >>> 19);
    a = (Math.imul(a, 5) + 0xe6546b64) | 0;
    b ^= Math.imul(k0 ^ (k0 >>> 16), 0x85ebca6b);
    b = (b << 11) | (b >>> 21);
    b = (Math.imul(b, 9) + 0x27d4eb2f) | 0;
  }
  return [fmix(a ^ id.length), fmix(b ^ id.length) | 1];
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
