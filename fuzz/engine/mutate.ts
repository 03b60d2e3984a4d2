/**
 * Byte-level mutations in the style of libFuzzer's and AFL's havoc stage, plus dictionary tokens and
 * splicing, driven by a seeded PRNG so that a run can be repeated with the same FUZZ_SEED.
 */

/** mulberry32: small, fast, good enough to drive mutations; seeded for repeatable runs. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
}

const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x07, 0x08, 0x0a, 0x10, 0x12, 0x1a, 0x20, 0x22, 0x2a, 0x3f, 0x40, 0x7f, 0x80, 0x81, 0xfe, 0xff];
const INTERESTING_NUMBERS = [
  '0',
  '-1',
  '1',
  '-0',
  '255',
  '65536',
  '2147483648',
  '4294967296',
  '9007199254740993',
  '18446744073709551616',
  '1e308',
  '1e309',
  '-1e309',
  '0.1',
  'NaN',
  '1.5e-7',
  '00',
  '0x10',
];

function encodeVarint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

export interface MutationContext {
  readonly rng: Rng;
  readonly dictionary: readonly Uint8Array[];
  /** Other inputs to splice with (the corpus). */
  readonly corpus: readonly Uint8Array[];
  readonly maxLen: number;
}

type Mutator = (d: number[], ctx: MutationContext) => void;

const mutators: Mutator[] = [
  // flip one bit
  (d, { rng }) => {
    if (d.length === 0) return;
    const i = rng.int(d.length);
    d[i] = d[i]! ^ (1 << rng.int(8));
  },
  // set a byte to a random or "interesting" value
  (d, { rng }) => {
    if (d.length === 0) return;
    d[rng.int(d.length)] = rng.next() < 0.5 ? rng.int(256) : rng.pick(INTERESTING_BYTES);
  },
  // add a small delta to a byte (walks lengths and varints up and down)
  (d, { rng }) => {
    if (d.length === 0) return;
    const i = rng.int(d.length);
    d[i] = (d[i]! + rng.int(33) - 16) & 0xff;
  },
  // insert random bytes
  (d, { rng }) => {
    const n = 1 + rng.int(8);
    const ins: number[] = [];
    for (let k = 0; k < n; k++) ins.push(rng.next() < 0.5 ? rng.int(256) : rng.pick(INTERESTING_BYTES));
    d.splice(rng.int(d.length + 1), 0, ...ins);
  },
  // delete a range
  (d, { rng }) => {
    if (d.length === 0) return;
    const at = rng.int(d.length);
    d.splice(at, 1 + rng.int(Math.min(32, d.length - at)));
  },
  // copy a range elsewhere (repeats structure: nesting, repeated fields)
  (d, { rng }) => {
    if (d.length === 0) return;
    const at = rng.int(d.length);
    const chunk = d.slice(at, at + 1 + rng.int(Math.min(64, d.length - at)));
    d.splice(rng.int(d.length + 1), 0, ...chunk);
  },
  // insert or overwrite with a dictionary token
  (d, { rng, dictionary }) => {
    if (dictionary.length === 0) return;
    const tok = Array.from(rng.pick(dictionary));
    const at = rng.int(d.length + 1);
    if (rng.next() < 0.5) d.splice(at, 0, ...tok);
    else d.splice(at, tok.length, ...tok);
  },
  // replace an ASCII number with an edge value (text formats)
  (d, { rng }) => {
    const digits: number[] = [];
    for (let i = 0; i < d.length; i++) if (d[i]! >= 0x30 && d[i]! <= 0x39) digits.push(i);
    const tok = Array.from(Buffer.from(rng.pick(INTERESTING_NUMBERS)));
    if (digits.length === 0) {
      d.splice(rng.int(d.length + 1), 0, ...tok);
      return;
    }
    let s = rng.pick(digits);
    let e = s;
    while (s > 0 && d[s - 1]! >= 0x30 && d[s - 1]! <= 0x39) s--;
    while (e < d.length && d[e]! >= 0x30 && d[e]! <= 0x39) e++;
    d.splice(s, e - s, ...tok);
  },
  // write a varint (protobuf tags and lengths), possibly a huge or overlong one
  (d, { rng }) => {
    const choices = [rng.int(128), rng.int(16384), 2 ** 31, 2 ** 32 - 1, 2 ** 53, rng.int(2 ** 31)];
    const v = encodeVarint(rng.pick(choices));
    const at = rng.int(d.length + 1);
    d.splice(at, rng.next() < 0.5 ? 0 : Math.min(v.length, d.length - at), ...v);
  },
  // splice with another corpus input
  (d, { rng, corpus }) => {
    if (corpus.length === 0) return;
    const other = rng.pick(corpus);
    if (other.length === 0) return;
    const from = rng.int(other.length);
    const chunk = Array.from(other.subarray(from, from + 1 + rng.int(Math.min(256, other.length - from))));
    const at = rng.int(d.length + 1);
    if (rng.next() < 0.5) d.splice(at, 0, ...chunk);
    else d.splice(at, d.length - at, ...chunk);
  },
];

/** One havoc round: 1–8 stacked mutations of a copy of `input`, cut to maxLen. */
export function mutate(input: Uint8Array, ctx: MutationContext): Uint8Array {
  const d = Array.from(input);
  const rounds = 1 << ctx.rng.int(4);
  for (let k = 0; k < rounds; k++) ctx.rng.pick(mutators)(d, ctx);
  if (d.length > ctx.maxLen) d.length = ctx.maxLen;
  return Uint8Array.from(d);
}
