/**
 * What the ingester remembers of a trace still receiving spans: sizes and times only. The spans
 * themselves go straight to the head block file (see head-block.ts), so a live trace costs a map
 * entry whatever its size.
 */
export interface LiveTrace {
  readonly traceId: string;
  /** Encoded bytes received for it while live (Tempo's max_bytes_per_trace applies to this). */
  bytes: number;
  lastAppendMs: number;
}

/** Live traces of one tenant, in insertion order (oldest first). */
export class LiveTraces {
  private readonly traces = new Map<string, LiveTrace>();

  get size(): number {
    return this.traces.size;
  }

  get(traceId: string): LiveTrace | undefined {
    return this.traces.get(traceId);
  }

  /** Notes `bytes` more for a trace; true when the trace is new. */
  touch(traceId: string, bytes: number, nowMs: number): boolean {
    const t = this.traces.get(traceId);
    if (t === undefined) {
      this.traces.set(traceId, { traceId, bytes, lastAppendMs: nowMs });
      return true;
    }
    t.bytes += bytes;
    t.lastAppendMs = nowMs;
    return false;
  }

  /** Forgets the traces idle since before `idleBeforeMs` (they are complete); returns how many. */
  cutIdle(idleBeforeMs: number): number {
    let n = 0;
    for (const t of this.traces.values()) {
      if (t.lastAppendMs <= idleBeforeMs) {
        this.traces.delete(t.traceId);
        n++;
      }
    }
    return n;
  }
}
