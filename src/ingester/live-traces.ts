import type { SpanEntry } from '../model/batch.js';

/** Spans of one trace still receiving data, kept encoded. */
export interface LiveTrace {
  readonly traceId: string;
  readonly spans: SpanEntry[];
  bytes: number;
  lastAppendMs: number;
  /** Oldest WAL segment holding any of its spans: that segment must stay until the trace is in a block. */
  minSegment: number;
}

/** Rough per-span overhead of the entry object and arrays, so the budget counts real memory. */
const SPAN_OVERHEAD = 64;

/** Live traces of one tenant, in insertion order (oldest first), with their total size. */
export class LiveTraces {
  private readonly traces = new Map<string, LiveTrace>();
  private totalBytes = 0;

  get size(): number {
    return this.traces.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get(traceId: string): LiveTrace | undefined {
    return this.traces.get(traceId);
  }

  /** Adds spans; returns how many new traces were created. */
  add(spans: readonly SpanEntry[], segment: number, nowMs: number): number {
    let created = 0;
    for (const s of spans) {
      let t = this.traces.get(s.traceId);
      if (t === undefined) {
        t = { traceId: s.traceId, spans: [], bytes: 0, lastAppendMs: nowMs, minSegment: segment };
        this.traces.set(s.traceId, t);
        created++;
      }
      t.spans.push(s);
      const b = s.span.length + SPAN_OVERHEAD;
      t.bytes += b;
      this.totalBytes += b;
      t.lastAppendMs = nowMs;
      if (segment < t.minSegment) t.minSegment = segment;
    }
    return created;
  }

  /** Removes and returns the traces idle since before `idleBeforeMs`. */
  cutIdle(idleBeforeMs: number): LiveTrace[] {
    const out: LiveTrace[] = [];
    for (const t of this.traces.values()) {
      if (t.lastAppendMs <= idleBeforeMs) out.push(t);
    }
    for (const t of out) this.remove(t);
    return out;
  }

  /** Removes and returns the oldest traces until at most `targetBytes` remain. */
  cutOldest(targetBytes: number): LiveTrace[] {
    const out: LiveTrace[] = [];
    let bytes = this.totalBytes;
    for (const t of this.traces.values()) {
      if (bytes <= targetBytes) break;
      out.push(t);
      bytes -= t.bytes;
    }
    for (const t of out) this.remove(t);
    return out;
  }

  cutAll(): LiveTrace[] {
    const out = [...this.traces.values()];
    this.traces.clear();
    this.totalBytes = 0;
    return out;
  }

  minSegment(): number {
    let min = Infinity;
    for (const t of this.traces.values()) if (t.minSegment < min) min = t.minSegment;
    return min;
  }

  values(): IterableIterator<LiveTrace> {
    return this.traces.values();
  }

  private remove(t: LiveTrace): void {
    this.traces.delete(t.traceId);
    this.totalBytes -= t.bytes;
  }
}
