import type { SpanEntry } from '../model/batch.js';
import { encodeTrace } from '../otlp/trace-encode.js';

/**
 * Spans of one trace still receiving data. Each push adds one part: that push's spans of this trace
 * encoded as a tempopb.Trace. Parts are plain bytes, so a live trace holds no object per span and
 * keeps no request buffer alive; and since Trace is one repeated field, the parts concatenated are
 * themselves the encoded trace.
 */
export interface LiveTrace {
  readonly traceId: string;
  readonly parts: Uint8Array[];
  bytes: number;
  lastAppendMs: number;
  /** Oldest WAL segment holding any of its spans: that segment must stay until the trace is in a block. */
  minSegment: number;
  startNs: number;
  endNs: number;
}

/** Memory of a part beyond its bytes (the Buffer object, array slot), so the budget counts real memory. */
const PART_OVERHEAD = 96;
/** Memory of a live trace beyond its parts (map entry, ID string, object). */
const TRACE_OVERHEAD = 200;

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

  /** Adds one push's spans; returns how many new traces were created. */
  add(spans: readonly SpanEntry[], segment: number, nowMs: number): number {
    const groups = new Map<string, SpanEntry[]>();
    for (const s of spans) {
      const g = groups.get(s.traceId);
      if (g === undefined) groups.set(s.traceId, [s]);
      else g.push(s);
    }
    let created = 0;
    for (const [traceId, group] of groups) {
      let t = this.traces.get(traceId);
      if (t === undefined) {
        t = { traceId, parts: [], bytes: TRACE_OVERHEAD, lastAppendMs: nowMs, minSegment: segment, startNs: Infinity, endNs: 0 };
        this.traces.set(traceId, t);
        this.totalBytes += TRACE_OVERHEAD;
        created++;
      }
      const part = encodeTrace(group);
      t.parts.push(part);
      const b = part.length + PART_OVERHEAD;
      t.bytes += b;
      this.totalBytes += b;
      t.lastAppendMs = nowMs;
      if (segment < t.minSegment) t.minSegment = segment;
      for (const s of group) {
        if (s.startNs < t.startNs) t.startNs = s.startNs;
        if (s.endNs > t.endNs) t.endNs = s.endNs;
      }
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

/** The whole encoded trace of a live trace. */
export function liveTraceBytes(t: LiveTrace): Uint8Array {
  return t.parts.length === 1 ? t.parts[0]! : Buffer.concat(t.parts);
}
