/**
 * Time slots and log2 buckets of TraceQL metrics, as Tempo 2.10 defines them: intervals are
 * right-closed, (start, start+step], …, each sample stamped with its interval's end; quantiles and
 * histograms count values in power-of-two buckets and interpolate exponentially inside one.
 */

/** What a metrics query covers. Unix ns; `instant` is one interval (start, end]. */
export interface MetricsRange {
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly stepNs: bigint;
  readonly instant: boolean;
}

/** Tempo's default step for a range without one: about 240 points, rounded down to 5 s (else 1 s), at least 1 s. */
export function defaultStepNs(startNs: bigint, endNs: bigint): bigint {
  const SEC = 1_000_000_000n;
  const baseline = (endNs - startNs) / 240n;
  let interval = (baseline / (5n * SEC)) * 5n * SEC;
  if (interval < 5n * SEC) interval = (baseline / SEC) * SEC;
  return interval < SEC ? SEC : interval;
}

/**
 * A range request as Tempo's frontend aligns it: start down and end up to the step, then one more
 * step before the start, so the first sample sits at the requested start.
 */
export function alignRange(r: MetricsRange): MetricsRange {
  if (r.instant || r.stepNs <= 0n) return r;
  let start = r.startNs - (r.startNs % r.stepNs);
  const mod = r.endNs % r.stepNs;
  const end = mod === 0n ? r.endNs : r.endNs + (r.stepNs - mod);
  if (start > r.stepNs) start -= r.stepNs;
  return { ...r, startNs: start, endNs: end };
}

/** Maps span start times to intervals of an (aligned) range. */
export class IntervalMapper {
  readonly count: number;
  private readonly start: bigint;
  private readonly end: bigint;
  private readonly step: bigint;

  constructor(private readonly range: MetricsRange) {
    this.start = range.startNs;
    this.end = range.endNs;
    if (range.instant) {
      this.step = range.endNs - range.startNs;
      this.count = 1;
    } else {
      this.step = range.stepNs;
      // A range already aligned by alignRange; re-aligned here in case it was not.
      this.start = range.startNs - (range.startNs % range.stepNs);
      const mod = range.endNs % range.stepNs;
      this.end = mod === 0n ? range.endNs : range.endNs + (range.stepNs - mod);
      this.count = Number((this.end - this.start) / this.step);
    }
  }

  /** The interval holding a span that started at `ts`, or -1 outside the range. */
  interval(ts: bigint): number {
    if (ts <= this.start || ts > this.end || this.step <= 0n) return -1;
    if (this.range.instant) return 0;
    const offset = ts - this.start;
    let i = offset / this.step;
    if (i * this.step === offset) i--;
    return Number(i);
  }

  /** Unix ms stamped on an interval's sample: its end. */
  timestampMs(i: number): number {
    if (this.range.instant) return Number(this.end / 1_000_000n);
    return Number((this.start + BigInt(i + 1) * this.step) / 1_000_000n);
  }

  /** Interval of an exemplar's unix ms time, or -1. */
  intervalOfMs(ms: number): number {
    return this.interval(BigInt(Math.trunc(ms)) * 1_000_000n);
  }

  /** Step in seconds (the instant range's length for instant queries). */
  get stepSeconds(): number {
    return Number(this.step) / 1e9;
  }

  /** Start and end of the aligned range, unix ms. */
  get startMs(): number {
    return Number(this.start / 1_000_000n);
  }
  get endMs(): number {
    return Number(this.end / 1_000_000n);
  }
}

/** The power of two at or above v (v >= 2); -1 below 2, which Tempo leaves out of histograms. */
export function log2Bucketize(v: number): number {
  if (!(v >= 2)) return -1;
  const n = Math.ceil(v);
  // 2^ceil(log2(n)), exact for integers up to 2^53.
  let p = 2 ** Math.ceil(Math.log2(n));
  if (p / 2 >= n) p /= 2;
  if (p < n) p *= 2;
  return p;
}

export interface HistogramBucket {
  /** Upper bound of the bucket. */
  readonly max: number;
  readonly count: number;
}

/** Tempo's Log2Quantile over buckets sorted by `max`: exponential interpolation inside the bucket. */
export function log2Quantile(p: number, buckets: readonly HistogramBucket[]): number {
  if (Number.isNaN(p) || p < 0 || p > 1 || buckets.length === 0) return 0;
  let totalCount = 0;
  for (const b of buckets) totalCount += b.count;
  if (totalCount === 0) return 0;
  const maxSamples = Math.max(1, Math.ceil(p * totalCount));
  let total = 0;
  let bucket = 0;
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i]!;
    bucket = i;
    if (total + b.count > maxSamples) break;
    total += b.count;
    if (total === maxSamples) return b.max;
  }
  const cur = buckets[bucket]!;
  const interp = (maxSamples - total) / cur.count;
  const maxV = Math.log2(cur.max);
  const minV = bucket > 0 ? Math.log2(buckets[bucket - 1]!.max) : maxV - 1;
  return 2 ** (minV + (maxV - minV) * interp);
}
