/**
 * One tenant's generated series (Tempo's `registry`): counters, gauges and histograms keyed by their
 * label values, with a cap on active series (counted as Tempo counts them: a histogram is its buckets
 * plus _sum, _count and +Inf), removal of series not updated for `stale_duration`, and the last
 * exemplar (trace ID) per histogram bucket. Rendering (text, OpenMetrics, remote write) reads it.
 */

/** Label values joined by this make a series key (it cannot appear in UTF-8 text). */
export const KEY_SEP = '\u0000';

export interface Exemplar {
  traceId: string;
  value: number;
  /** ms since the epoch */
  timestampMs: number;
}

export interface CounterSeries {
  readonly values: readonly string[];
  /** Label names of this series when they differ per series (traces_target_info); the metric's otherwise. */
  readonly names?: readonly string[];
  value: number;
  lastUpdatedMs: number;
  /** false until the series has been collected once (remote write sends a 0 first, as Tempo does) */
  collected: boolean;
}

export interface HistogramSeries {
  readonly values: readonly string[];
  /** Non-cumulative counts per bucket; the last is +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
  lastUpdatedMs: number;
  collected: boolean;
  /** Last exemplar per bucket (same indexes as counts). */
  readonly exemplars: (Exemplar | undefined)[];
  /** Buckets whose exemplar was not sent by remote write yet. */
  readonly exemplarsUnsent: Uint8Array;
}

export interface SeriesLimiter {
  /** True when `n` more series fit; counts them as active. */
  tryAdd(n: number): boolean;
  release(n: number): void;
}

export class Counter {
  readonly kind = 'counter' as const;
  readonly series = new Map<string, CounterSeries>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly limiter: SeriesLimiter,
  ) {}

  /** Adds `delta` to the series with these label values (key = values joined by KEY_SEP). */
  add(key: string, values: readonly string[], delta: number, nowMs: number): boolean {
    const s = this.seriesFor(key, values, nowMs);
    if (s === null) return false;
    s.value += delta;
    s.lastUpdatedMs = nowMs;
    return true;
  }

  /** The series with this key, created when there is room for it (null when max_active_series refuses it). */
  seriesFor(key: string, values: readonly string[], nowMs: number): CounterSeries | null {
    let s = this.series.get(key);
    if (s === undefined) {
      if (!this.limiter.tryAdd(1)) return null;
      s = { values: values.slice(), value: 0, lastUpdatedMs: nowMs, collected: false };
      this.series.set(key, s);
    }
    return s;
  }

  /** Adds to an existing series only; false when there is none (saves building label values). */
  addExisting(key: string, delta: number, nowMs: number): boolean {
    const s = this.series.get(key);
    if (s === undefined) return false;
    s.value += delta;
    s.lastUpdatedMs = nowMs;
    return true;
  }

  removeStale(beforeMs: number): number {
    return removeStaleSeries(this.series, beforeMs, this.limiter, 1);
  }
}

/**
 * Drops the series not updated since `beforeMs` and gives their places back to the limiter (`weight`
 * places each); returns how many went.
 */
function removeStaleSeries(series: Map<string, { lastUpdatedMs: number }>, beforeMs: number, limiter: SeriesLimiter, weight: number): number {
  let removed = 0;
  for (const [k, s] of series) {
    if (s.lastUpdatedMs < beforeMs) {
      series.delete(k);
      removed++;
    }
  }
  limiter.release(removed * weight);
  return removed;
}

/** A gauge that is set, not added to (traces_target_info). */
export class Gauge {
  readonly kind = 'gauge' as const;
  readonly series = new Map<string, CounterSeries>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly limiter: SeriesLimiter,
  ) {}

  set(key: string, names: readonly string[], values: readonly string[], value: number, nowMs: number): boolean {
    let s = this.series.get(key);
    if (s === undefined) {
      if (!this.limiter.tryAdd(1)) return false;
      s = { names, values: values.slice(), value, lastUpdatedMs: nowMs, collected: false };
      this.series.set(key, s);
    }
    s.value = value;
    s.lastUpdatedMs = nowMs;
    return true;
  }

  removeStale(beforeMs: number): number {
    return removeStaleSeries(this.series, beforeMs, this.limiter, 1);
  }
}

export class Histogram {
  readonly kind = 'histogram' as const;
  readonly series = new Map<string, HistogramSeries>();
  /** What one histogram series counts toward max_active_series. */
  readonly seriesWeight: number;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    /** Upper bounds, ascending, without +Inf. */
    readonly buckets: readonly number[],
    private readonly limiter: SeriesLimiter,
  ) {
    this.seriesWeight = buckets.length + 3;
  }

  observe(key: string, values: readonly string[], v: number, traceId: string, nowMs: number): boolean {
    const s = this.seriesFor(key, values, nowMs);
    if (s === null) return false;
    observeInto(this.buckets, s, v, traceId, nowMs);
    return true;
  }

  /** The series with this key, created when there is room for it. */
  seriesFor(key: string, values: readonly string[], nowMs: number): HistogramSeries | null {
    let s = this.series.get(key);
    if (s === undefined) {
      if (!this.limiter.tryAdd(this.seriesWeight)) return null;
      const n = this.buckets.length + 1;
      s = {
        values: values.slice(),
        counts: new Float64Array(n),
        sum: 0,
        count: 0,
        lastUpdatedMs: nowMs,
        collected: false,
        exemplars: new Array<Exemplar | undefined>(n).fill(undefined),
        exemplarsUnsent: new Uint8Array(n),
      };
      this.series.set(key, s);
    }
    return s;
  }

  removeStale(beforeMs: number): number {
    return removeStaleSeries(this.series, beforeMs, this.limiter, this.seriesWeight);
  }
}

/** Counts `v` into a histogram series with upper bounds `b`, keeping it as its bucket's exemplar. */
export function observeInto(b: readonly number[], s: HistogramSeries, v: number, traceId: string, nowMs: number): void {
  let i = 0;
  while (i < b.length && v > b[i]!) i++;
  s.counts[i]!++;
  s.sum += v;
  s.count++;
  s.lastUpdatedMs = nowMs;
  if (traceId !== '') {
    const ex = s.exemplars[i];
    if (ex === undefined) s.exemplars[i] = { traceId, value: v, timestampMs: nowMs };
    else {
      ex.traceId = traceId;
      ex.value = v;
      ex.timestampMs = nowMs;
    }
    s.exemplarsUnsent[i] = 1;
  }
}

export type Metric = Counter | Gauge | Histogram;

export interface RegistryStats {
  activeSeries: number;
  maxActiveSeries: number;
  /** Series refused because of max_active_series, since start. */
  limited: number;
  added: number;
  removed: number;
}

/** The metrics of one tenant. */
export class SeriesRegistry implements SeriesLimiter {
  readonly metrics: Metric[] = [];
  readonly stats: RegistryStats;

  constructor(maxActiveSeries: number) {
    this.stats = { activeSeries: 0, maxActiveSeries, limited: 0, added: 0, removed: 0 };
  }

  tryAdd(n: number): boolean {
    const max = this.stats.maxActiveSeries;
    if (max > 0 && this.stats.activeSeries + n > max) {
      this.stats.limited += n;
      return false;
    }
    this.stats.activeSeries += n;
    this.stats.added += n;
    return true;
  }

  /** True when `n` more series fit under max_active_series. */
  hasRoom(n: number): boolean {
    const max = this.stats.maxActiveSeries;
    return max <= 0 || this.stats.activeSeries + n <= max;
  }

  release(n: number): void {
    this.stats.activeSeries -= n;
    this.stats.removed += n;
  }

  counter(name: string, help: string, labelNames: readonly string[]): Counter {
    const m = new Counter(name, help, labelNames, this);
    this.metrics.push(m);
    return m;
  }

  gauge(name: string, help: string, labelNames: readonly string[]): Gauge {
    const m = new Gauge(name, help, labelNames, this);
    this.metrics.push(m);
    return m;
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    const m = new Histogram(name, help, labelNames, buckets, this);
    this.metrics.push(m);
    return m;
  }

  /** Drops series not updated since `beforeMs`; returns how many went. */
  removeStale(beforeMs: number): number {
    let removed = 0;
    for (const m of this.metrics) removed += m.removeStale(beforeMs);
    return removed;
  }
}

/** Tempo's label-name sanitizing: anything outside [a-zA-Z0-9_] becomes "_", a leading digit gets a "_". */
export function sanitizeLabelName(name: string, maxLength: number): string {
  let s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  if (/^[0-9]/.test(s)) s = `_${s}`;
  return s.length > maxLength ? s.slice(0, maxLength) : s;
}
