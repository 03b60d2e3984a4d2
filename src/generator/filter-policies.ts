/**
 * Tempo's span-metrics `filter_policies`: a span is counted only when every policy's `include` matches
 * it (all of its attributes) and no policy's `exclude` does. Keys are the intrinsics `name`, `kind`
 * (SPAN_KIND_…), `status` (STATUS_CODE_…), or `resource.<attr>` / `span.<attr>`.
 */
import type { MetricsGeneratorConfig } from '../config/schema.js';
import type { ResourceInfo } from './resource-info.js';
import type { SpanFields } from './span-fields.js';
import { kindName, statusName } from './span-names.js';

type Policies = MetricsGeneratorConfig['processor']['span_metrics']['filter_policies'];
type Match = NonNullable<Policies[number]['include']>;

export type SpanFilter = (res: ResourceInfo, f: SpanFields) => boolean;

/** Span attribute keys the policies read (without their `span.` prefix). */
export function filterPolicyKeys(policies: Policies): string[] {
  const keys: string[] = [];
  for (const p of policies) {
    for (const m of [p.include, p.exclude]) {
      for (const a of m?.attributes ?? []) if (a.key.startsWith('span.')) keys.push(a.key.slice(5));
    }
  }
  return keys;
}

function valueText(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}

function compileMatch(m: Match, attrIndex: (key: string) => number): SpanFilter {
  const tests = m.attributes.map((a) => {
    const want = valueText(a.value);
    const re = m.match_type === 'regex' ? new RegExp(want) : null;
    const ok = (v: string | undefined) => v !== undefined && (re === null ? v === want : re.test(v));
    if (a.key === 'name') return (_r: ResourceInfo, f: SpanFields) => ok(f.name);
    if (a.key === 'kind') return (_r: ResourceInfo, f: SpanFields) => ok(kindName(f.kind));
    if (a.key === 'status') return (_r: ResourceInfo, f: SpanFields) => ok(statusName(f.statusCode));
    if (a.key.startsWith('resource.')) {
      const k = a.key.slice(9);
      return (r: ResourceInfo) => ok(r.attrs.get(k));
    }
    const k = a.key.startsWith('span.') ? a.key.slice(5) : a.key;
    const i = attrIndex(k);
    return (_r: ResourceInfo, f: SpanFields) => ok(i < 0 ? undefined : f.attrs[i]);
  });
  return (r, f) => tests.every((t) => t(r, f));
}

/** null when there are no policies (every span counts). */
export function compileFilterPolicies(policies: Policies, attrIndex: (key: string) => number): SpanFilter | null {
  if (policies.length === 0) return null;
  const compiled = policies.map((p) => ({
    include: p.include === undefined ? null : compileMatch(p.include, attrIndex),
    exclude: p.exclude === undefined ? null : compileMatch(p.exclude, attrIndex),
  }));
  return (r, f) => compiled.every((p) => (p.include === null || p.include(r, f)) && (p.exclude === null || !p.exclude(r, f)));
}
