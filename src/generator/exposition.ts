/**
 * The scrape side of the generator: series in the Prometheus text format (0.0.4) or in OpenMetrics
 * 1.0, which alone carries exemplars (`# {traceID="…"} value timestamp` on histogram buckets).
 */
import type { Metric, SeriesRegistry } from './registry.js';

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** Labels added to every series of a registry (external labels, the tenant when scraping many). */
export type ExtraLabels = readonly (readonly [string, string])[];

function escapeValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(names: readonly string[], values: readonly string[], extra: ExtraLabels, le?: string): string {
  const parts: string[] = [];
  for (const [n, v] of extra) parts.push(`${n}="${escapeValue(v)}"`);
  for (let i = 0; i < names.length; i++) parts.push(`${names[i]}="${escapeValue(values[i] ?? '')}"`);
  if (le !== undefined) parts.push(`le="${le}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function num(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return Number.isNaN(v) ? 'NaN' : String(v);
}

/** Name of the metric family: OpenMetrics names a counter without its `_total`. */
function familyName(m: Metric, openMetrics: boolean): string {
  return openMetrics && m.kind === 'counter' && m.name.endsWith('_total') ? m.name.slice(0, -'_total'.length) : m.name;
}

/** One registry to render and the labels its series get on top of their own. */
export interface RenderSource {
  readonly registry: SeriesRegistry;
  readonly extra: ExtraLabels;
}

/**
 * The whole exposition. Families are kept together across registries (both formats require it), each
 * with one HELP/TYPE header; OpenMetrics ends with `# EOF`.
 */
export function renderExposition(sources: readonly RenderSource[], openMetrics: boolean): string {
  const byName = new Map<string, { metric: Metric; extra: ExtraLabels }[]>();
  for (const src of sources) {
    for (const m of src.registry.metrics) {
      if (m.series.size === 0) continue;
      let list = byName.get(m.name);
      if (list === undefined) byName.set(m.name, (list = []));
      list.push({ metric: m, extra: src.extra });
    }
  }
  const out: string[] = [];
  for (const list of byName.values()) {
    const first = list[0]!.metric;
    const family = familyName(first, openMetrics);
    out.push(`# HELP ${family} ${first.help}`, `# TYPE ${family} ${first.kind}`);
    for (const { metric, extra } of list) renderMetric(metric, extra, openMetrics, out);
  }
  if (openMetrics) out.push('# EOF');
  return out.length === 0 ? '' : out.join('\n') + '\n';
}

function renderMetric(m: Metric, extra: ExtraLabels, openMetrics: boolean, out: string[]): void {
  if (m.kind === 'histogram') {
    for (const s of m.series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= m.buckets.length; i++) {
        cumulative += s.counts[i]!;
        const le = i < m.buckets.length ? num(m.buckets[i]!) : '+Inf';
        let line = `${m.name}_bucket${labelText(m.labelNames, s.values, extra, le)} ${cumulative}`;
        const ex = s.exemplars[i];
        if (openMetrics && ex !== undefined) line += ` # {traceID="${ex.traceId}"} ${num(ex.value)} ${(ex.timestampMs / 1000).toFixed(3)}`;
        out.push(line);
      }
      const labels = labelText(m.labelNames, s.values, extra);
      out.push(`${m.name}_sum${labels} ${num(s.sum)}`, `${m.name}_count${labels} ${s.count}`);
    }
  } else {
    for (const s of m.series.values()) out.push(`${m.name}${labelText(s.names ?? m.labelNames, s.values, extra)} ${num(s.value)}`);
  }
}

/** True when a scraper's Accept header asks for OpenMetrics. */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('application/openmetrics-text');
}
