/**
 * Coverage feedback for the fuzzer from V8's own block coverage (the inspector's precise coverage),
 * because the usual libFuzzer-based tool for Node cannot load here (see fuzz/README.md). Each
 * executed or skipped block range, with its hit count bucketed as AFL does, is one "feature"; an input
 * that produces a feature never seen before is worth keeping.
 */
import { Session } from 'node:inspector';

interface CoverageRange {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface FunctionCoverage {
  ranges: CoverageRange[];
}
interface ScriptCoverage {
  scriptId: string;
  url: string;
  functions: FunctionCoverage[];
}

/** AFL's hit-count classes: 0, 1, 2, 3, 4–7, 8–15, 16–31, 32–127, 128+. */
function bucket(count: number): number {
  if (count < 4) return count;
  if (count < 8) return 4;
  if (count < 16) return 5;
  if (count < 32) return 6;
  if (count < 128) return 7;
  return 8;
}

export class CoverageTracker {
  private readonly session = new Session();
  /** scriptId → whether its URL is code under test; decided once per script. */
  private readonly watched = new Map<string, boolean>();
  private readonly seen = new Set<number>();
  private readonly scriptIndex = new Map<string, number>();

  /**
   * `include`: substrings of script URLs whose coverage counts (the code under test). `coarse`: a
   * feature is only "this block ran", without hit counts — what a corpus merge keeps inputs for.
   */
  constructor(
    private readonly include: readonly string[],
    private readonly coarse = false,
  ) {
    this.session.connect();
    // A same-thread inspector session answers synchronously, so the fuzz loop can stay synchronous.
    this.session.post('Profiler.enable');
    this.session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }

  /** Number of distinct features seen so far. */
  get size(): number {
    return this.seen.size;
  }

  /**
   * Reads (and resets) the counters of everything that ran since the last call and returns how many
   * features were new. With `commit` false the features are only counted, not remembered.
   */
  collect(commit = true): number {
    let result: ScriptCoverage[] = [];
    this.session.post('Profiler.takePreciseCoverage', (err, res) => {
      if (err !== null) throw err;
      result = (res as unknown as { result: ScriptCoverage[] }).result;
    });
    let fresh = 0;
    const pending: number[] = [];
    for (const script of result) {
      let watch = this.watched.get(script.scriptId);
      if (watch === undefined) {
        watch = this.include.some((s) => script.url.includes(s));
        this.watched.set(script.scriptId, watch);
      }
      if (!watch) continue;
      let idx = this.scriptIndex.get(script.scriptId);
      if (idx === undefined) {
        idx = this.scriptIndex.size;
        this.scriptIndex.set(script.scriptId, idx);
      }
      for (const fn of script.functions) {
        const fnCount = fn.ranges[0]?.count ?? 0;
        if (fnCount === 0) continue;
        for (const r of fn.ranges) {
          if (this.coarse && r.count === 0) continue;
          // A number key (script, offset, length class, bucket) keeps the Set cheap; collisions only
          // cost a little guidance, never correctness.
          const key =
            (((idx * 0x100000 + r.startOffset) * 64 + ((r.endOffset - r.startOffset) % 64)) * 16 + (this.coarse ? 1 : bucket(r.count))) %
            Number.MAX_SAFE_INTEGER;
          if (!this.seen.has(key)) {
            fresh++;
            pending.push(key);
          }
        }
      }
    }
    if (commit) for (const k of pending) this.seen.add(k);
    return fresh;
  }

  stop(): void {
    this.session.post('Profiler.stopPreciseCoverage');
    this.session.disconnect();
  }
}
