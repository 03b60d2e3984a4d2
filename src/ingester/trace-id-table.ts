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
    return slot >= 0 && this.state[slot] === FULL ? this.values[slot] : undefined;
  }

  has(traceId: string): boolean {
    const slot = this.find(traceId);
    return slot >= 0 && this.state[slot] === FULL;
  }

  set(traceId: string, value: number): void {
    if ((this.count + 1) * 4 > this.state.length * 3) this.grow();
    const slot = this.find(traceId);
    if (this.state[slot] !== FULL) {
      this.state[slot] = FULL;
      const w = slot * 4;
      this.words[w] = parseInt(traceId.slice(0, 8), 16);
      this.words[w + 1] = parseInt(traceId.slice(8, 16), 16);
      this.words[w + 2] = parseInt(traceId.slice(16, 24), 16);
      this.words[w + 3] = parseInt(traceId.slice(24, 32), 16);
      this.count++;
    }
    this.values[slot] = value;
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

  /** The slot holding `traceId`, or the empty slot where it would go. */
  private find(traceId: string): number {
    const a = parseInt(traceId.slice(0, 8), 16);
    const b = parseInt(traceId.slice(8, 16), 16);
    const c = parseInt(traceId.slice(16, 24), 16);
    const d = parseInt(traceId.slice(24, 32), 16);
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
      let id = '';
      for (let i = 0; i < 4; i++) id += old.words[w + i]!.toString(16).padStart(8, '0');
      this.set(id, old.values[slot]!);
    }
  }
}
