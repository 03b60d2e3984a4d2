/**
 * Tempo's span-metrics processor: per (service, span name, kind, status, dimensions) a call counter,
 * a latency histogram with trace-ID exemplars and a size counter, plus traces_target_info per
 * resource when asked for. Series and label names are Tempo 2.10's.
 */
import type { MetricsGeneratorConfig } from '../config/schema.js';
import { compileFilterPolicies, filterPolicyKeys, type SpanFilter } from './filter-policies.js';
import { KEY_SEP, sanitizeLabelName, type Counter, type Gauge, type Histogram, type SeriesRegistry } from './registry.js';
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

export class SpanMetrics {
  private readonly calls: Counter;
  private readonly latency: Histogram;
  private readonly size: Counter;
  private readonly targetInfo: Gauge | null;
  private readonly sources: Source[] = [];
  private readonly scratch: string[];
  private readonly maxValue: number;
  private readonly filter: SpanFilter | null;

  constructor(reg: SeriesRegistry, opts: SpanMetricsOptions) {
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
    this.calls.add(key, v, 1, nowMs);
    this.latency.observe(key, v, durationS, traceId, nowMs);
    this.size.add(key, v, sizeBytes, nowMs);
    if (this.targetInfo !== null && res.targetInfo !== null) this.targetInfo.set(res.targetInfo.key, res.targetInfo.names, res.targetInfo.values, 1, nowMs);
  }
}
