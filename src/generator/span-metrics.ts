/**
 * Tempo's span-metrics processor: per (service, span name, kind, status, dimensions) a call counter,
 * a latency histogram with trace-ID exemplars and a size counter, plus traces_target_info per
 * resource when asked for. Series and label names are Tempo 2.10's.
 */
import type { MetricsGeneratorConfig } from '../config/schema.js';
import { compileFilterPolicies, filterPolicyKeys, type SpanFilter } from './filter-policies.js';
import {
  KEY_SEP,
  observeInto,
  sanitizeLabelName,
  type Counter,
  type CounterSeries,
  type Gauge,
  type Histogram,
  type HistogramSeries,
  type SeriesRegistry,
} from './registry.js';
import type { SpanFields } from './span-fields.js';
import type { ResourceInfo } from './resource-info.js';
import { kindName, statusName } from './span-names.js';

type SpanMetricsConfig = MetricsGeneratorConfig['processor']['span_metrics'];

/** Where a label's value comes from. */
type Source =
  | { readonly kind: 'service' | 'span_name' | 'span_kind' | 'status_code' | 'status_message' }
  | { readonly kind: 'attr'; readonly key: string; readonly index: number }
  | { readonly kind: 'mapping'; readonly keys: readonly string[]; readonly indexes: readonly number[]; readonly join: string };

export interface SpanMetricsOptions {
  readonly config: SpanMetricsConfig;
  readonly maxLabelNameLength: number;
  readonly maxLabelValueLength: number;
  /** Index of an attribute key in the generator's WantedKeys. */
  readonly attrIndex: (key: string) => number;
}

/** Attribute keys this processor reads from spans and resources. */
export function spanMetricsKeys(cfg: SpanMetricsConfig): string[] {
  return [...cfg.dimensions, ...cfg.dimension_mappings.flatMap((m) => m.source_labels), ...filterPolicyKeys(cfg.filter_policies)];
}

/** The three series of one label set, found with one lookup. */
interface Slot {
  readonly calls: CounterSeries;
  readonly latency: HistogramSeries;
  readonly size: CounterSeries;
}

/** A slot found from the span's bytes: service, kind, status and the name's UTF-8 bytes (chained on hash collisions). */
interface FastEntry {
  readonly serviceId: number;
  readonly kind: number;
  readonly status: number;
  readonly name: Uint8Array;
  readonly slot: Slot;
  readonly next: FastEntry | undefined;
}

function hashSpan(buf: Uint8Array, start: number, end: number, serviceId: number, kind: number, status: number): number {
  let h = 0x811c9dc5 ^ Math.imul(serviceId + 1, 0x9e3779b1);
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return (h ^ (kind << 4) ^ status) & 0x3fffffff; // a small integer: no heap number per lookup
}

function sameBytes(a: Uint8Array, buf: Uint8Array, start: number, end: number): boolean {
  if (a.length !== end - start) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== buf[start + i]) return false;
  return true;
}

export class SpanMetrics {
  /** Label-set key → its series; emptied whenever stale series leave the registry. */
  private readonly slots = new Map<string, Slot>();
  /**
   * With only intrinsic labels, spans find their slot from their bytes, without making the name
   * string or the key: the common case costs a hash over the name and one lookup.
   */
  private readonly fast = new Map<number, FastEntry>();
  private readonly fastPath: boolean;
  private readonly calls: Counter;
  private readonly latency: Histogram;
  private readonly size: Counter;
  private readonly targetInfo: Gauge | null;
  private readonly sources: Source[] = [];
  private readonly scratch: string[];
  private readonly maxValue: number;
  private readonly filter: SpanFilter | null;

  constructor(
    private readonly reg: SeriesRegistry,
    opts: SpanMetricsOptions,
  ) {
    const cfg = opts.config;
    const names: string[] = [];
    const intr = cfg.intrinsic_dimensions;
    if (intr.service) this.add(names, 'service', { kind: 'service' });
    if (intr.span_name) this.add(names, 'span_name', { kind: 'span_name' });
    if (intr.span_kind) this.add(names, 'span_kind', { kind: 'span_kind' });
    if (intr.status_code) this.add(names, 'status_code', { kind: 'status_code' });
    if (intr.status_message) this.add(names, 'status_message', { kind: 'status_message' });
    for (const d of cfg.dimensions) {
      this.add(names, sanitizeLabelName(d, opts.maxLabelNameLength), { kind: 'attr', key: d, index: opts.attrIndex(d) });
    }
    for (const m of cfg.dimension_mappings) {
      if (m.name === '') continue;
      this.add(names, sanitizeLabelName(m.name, opts.maxLabelNameLength), {
        kind: 'mapping',
        keys: m.source_labels,
        indexes: m.source_labels.map(opts.attrIndex),
        join: m.join,
      });
    }
    this.scratch = new Array<string>(names.length).fill('');
    this.fastPath = this.sources.every((x) => x.kind === 'service' || x.kind === 'span_name' || x.kind === 'span_kind' || x.kind === 'status_code');
    this.maxValue = opts.maxLabelValueLength;
    this.calls = reg.counter('traces_spanmetrics_calls_total', 'Number of spans', names);
    this.latency = reg.histogram('traces_spanmetrics_latency', 'Span duration in seconds', names, cfg.histogram_buckets);
    this.size = reg.counter('traces_spanmetrics_size_total', 'Encoded span size in bytes', names);
    this.targetInfo = cfg.enable_target_info ? reg.gauge('traces_target_info', 'Resource attributes of the services', []) : null;
    this.filter = compileFilterPolicies(cfg.filter_policies, opts.attrIndex);
  }

  private add(names: string[], name: string, src: Source): void {
    if (names.includes(name)) return;
    names.push(name);
    this.sources.push(src);
  }

  /** Counts one span. */
  observe(res: ResourceInfo, f: SpanFields, traceId: string, durationS: number, sizeBytes: number, nowMs: number): void {
    if (this.filter !== null && !this.filter(res, f)) return;
    let hash = 0;
    const fast = this.fastPath && res.serviceId >= 0;
    if (fast) {
      hash = hashSpan(f.buf, f.nameStart, f.nameEnd, res.serviceId, f.kind, f.statusCode);
      for (let e = this.fast.get(hash); e !== undefined; e = e.next) {
        if (e.serviceId === res.serviceId && e.kind === f.kind && e.status === f.statusCode && sameBytes(e.name, f.buf, f.nameStart, f.nameEnd)) {
          this.count(e.slot, traceId, durationS, sizeBytes, nowMs);
          this.targetInfoSet(res, nowMs);
          return;
        }
      }
    }
    const v = this.scratch;
    const srcs = this.sources;
    for (let i = 0; i < srcs.length; i++) {
      const s = srcs[i]!;
      let value: string;
      switch (s.kind) {
        case 'service':
          value = res.service;
          break;
        case 'span_name':
          value = f.name;
          break;
        case 'span_kind':
          value = kindName(f.kind);
          break;
        case 'status_code':
          value = statusName(f.statusCode);
          break;
        case 'status_message':
          value = f.statusMessage;
          break;
        case 'attr':
          value = f.attrs[s.index] ?? res.attrs.get(s.key) ?? '';
          break;
        case 'mapping': {
          const parts: string[] = [];
          for (let k = 0; k < s.keys.length; k++) {
            const p = f.attrs[s.indexes[k]!] ?? res.attrs.get(s.keys[k]!);
            if (p !== undefined && p !== '') parts.push(p);
          }
          value = parts.join(s.join);
          break;
        }
      }
      v[i] = value.length > this.maxValue ? value.slice(0, this.maxValue) : value;
    }
    const key = v.join(KEY_SEP);
    let slot = this.slots.get(key);
    if (slot === undefined) {
      // All three or none, so max_active_series never leaves a label set half counted.
      const need = (this.calls.series.has(key) ? 0 : 1) + (this.latency.series.has(key) ? 0 : this.latency.seriesWeight) + (this.size.series.has(key) ? 0 : 1);
      if (!this.reg.hasRoom(need)) {
        this.reg.stats.limited += need;
        this.targetInfoSet(res, nowMs);
        return;
      }
      const c = this.calls.seriesFor(key, v, nowMs);
      const l = this.latency.seriesFor(key, v, nowMs);
      const s = this.size.seriesFor(key, v, nowMs);
      if (c === null || l === null || s === null) {
        this.targetInfoSet(res, nowMs);
        return;
      }
      slot = { calls: c, latency: l, size: s };
      this.slots.set(key, slot);
    }
    if (fast) {
      const next = this.fast.get(hash);
      this.fast.set(hash, { serviceId: res.serviceId, kind: f.kind, status: f.statusCode, name: f.buf.slice(f.nameStart, f.nameEnd), slot, next });
    }
    this.count(slot, traceId, durationS, sizeBytes, nowMs);
    this.targetInfoSet(res, nowMs);
  }

  private count(slot: Slot, traceId: string, durationS: number, sizeBytes: number, nowMs: number): void {
    slot.calls.value++;
    slot.calls.lastUpdatedMs = nowMs;
    observeInto(this.latency.buckets, slot.latency, durationS, traceId, nowMs);
    slot.size.value += sizeBytes;
    slot.size.lastUpdatedMs = nowMs;
  }

  /** Forgets the series lookups (after stale series left the registry). */
  forgetSeries(): void {
    this.slots.clear();
    this.fast.clear();
  }

  private targetInfoSet(res: ResourceInfo, nowMs: number): void {
    if (this.targetInfo !== null && res.targetInfo !== null) this.targetInfo.set(res.targetInfo.key, res.targetInfo.names, res.targetInfo.values, 1, nowMs);
  }
}
