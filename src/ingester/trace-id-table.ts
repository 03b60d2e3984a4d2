/**
 * A hash table from trace ID to a number, in typed arrays: 28 bytes per trace (plus free slots)
 * instead of the ~120 of a Map with 32-character string keys, and nothing for the garbage collector
 * to trace. The head block keeps one entry per trace it holds, so this is most of the ingester's
 * per-trace memory.
 */
const EMPTY = 0;
const FULL = 1;

export class TraceIdTable {
  private words: Uint32Array;
  private values: Float64Array;
  private state: Uint8Array;
  private count = 0;

  constructor(capacity = 1024) {
    const cap = 1 << Math.ceil(Math.log2(Math.max(16, capacity)));
    this.words = new Uint32Array(cap * 4);
    this.values = new Float64Array(cap);
    this.state = new Uint8Array(cap);
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the table's arrays. */
  get bytes(): number {
    return this.words.byteLength + this.values.byteLength + this.state.byteLength;
  }

  get(traceId: string): number | undefined {
    const slot = this.find(traceId);
    return this.state[slot] === FULL ? this.values[slot] : undefined;
  }

  has(traceId: string): boolean {
    return this.state[this.find(traceId)] === FULL;
  }

  set(traceId: string, value: number): void {
    if ((this.count + 1) * 4 > this.state.length * 3) this.grow();
    const slot = this.find(traceId);
    if (this.state[slot] !== FULL) this.occupy(slot);
    this.values[slot] = value;
  }

  /**
   * Every entry as 24 bytes — the 16-byte trace ID, then the value as a little-endian f64 — sorted by
   * trace ID, built without a string per trace.
   */
  sortedEntries(): Buffer {
    const slots = new Uint32Array(this.count);
    let n = 0;
    for (let slot = 0; slot < this.state.length; slot++) if (this.state[slot] === FULL) slots[n++] = slot;
    const w = this.words;
    slots.sort((x, y) => {
      for (let i = 0; i < 4; i++) {
        const d = w[x * 4 + i]! - w[y * 4 + i]!;
        if (d !== 0) return d;
      }
      return 0;
    });
    const out = Buffer.allocUnsafe(n * 24);
    for (let i = 0; i < n; i++) {
      const slot = slots[i]!;
      for (let j = 0; j < 4; j++) out.writeUInt32BE(w[slot * 4 + j]!, i * 24 + j * 4);
      out.writeDoubleLE(this.values[slot]!, i * 24 + 16);
    }
    return out;
  }

  /** Every trace ID (32 lowercase hex digits), in table order. */
  *keys(): Generator<string> {
    for (let slot = 0; slot < this.state.length; slot++) if (this.state[slot] === FULL) yield this.idAt(slot);
  }

  private idAt(slot: number): string {
    const w = slot * 4;
    let s = '';
    for (let i = 0; i < 4; i++) s += this.words[w + i]!.toString(16).padStart(8, '0');
    return s;
  }

  // The words of the ID last passed to find(), so set() stores them without parsing again.
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  /** The slot holding `traceId`, or the empty slot where it would go. */
  private find(traceId: string): number {
    this.a = hexWord(traceId, 0);
    this.b = hexWord(traceId, 8);
    this.c = hexWord(traceId, 16);
    this.d = hexWord(traceId, 24);
    return this.probe();
  }

  private probe(): number {
    const { a, b, c, d } = this;
    const mask = this.state.length - 1;
    // Trace IDs are random, but some SDKs leave the upper half zero: mix all four words.
    let slot = Math.imul(a ^ Math.imul(b, 0x9e3779b1) ^ Math.imul(c, 0x85ebca6b) ^ Math.imul(d, 0xc2b2ae35), 0x27d4eb2f) >>> 0;
    slot = (slot ^ (slot >>> 15)) & mask;
    for (;;) {
      if (this.state[slot] === EMPTY) return slot;
      const w = slot * 4;
      if (this.words[w] === a && this.words[w + 1] === b && this.words[w + 2] === c && this.words[w + 3] === d) return slot;
      slot = (slot + 1) & mask;
    }
  }

  /** Fills an empty slot with the words of the last find(). */
  private occupy(slot: number): void {
    this.state[slot] = FULL;
    const w = slot * 4;
    this.words[w] = this.a;
    this.words[w + 1] = this.b;
    this.words[w + 2] = this.c;
    this.words[w + 3] = this.d;
    this.count++;
  }

  private grow(): void {
    const old = { words: this.words, values: this.values, state: this.state };
    const cap = this.state.length * 2;
    this.words = new Uint32Array(cap * 4);
    this.values = new Float64Array(cap);
    this.state = new Uint8Array(cap);
    this.count = 0;
    for (let slot = 0; slot < old.state.length; slot++) {
      if (old.state[slot] !== FULL) continue;
      const w = slot * 4;
      this.a = old.words[w]!;
      this.b = old.words[w + 1]!;
      this.c = old.words[w + 2]!;
      this.d = old.words[w + 3]!;
      const at = this.probe();
      this.occupy(at);
      this.values[at] = old.values[slot]!;
    }
  }
}

/** Eight hex digits of `s` from `at` as an unsigned 32-bit number (input is lowercase hex). */
function hexWord(s: string, at: number): number {
  let v = 0;
  for (let i = at; i < at + 8; i++) {
    const ch = s.charCodeAt(i);
    v = (v << 4) | (ch <= 57 ? ch - 48 : ch - 87);
  }
  return v >>> 0;
}
