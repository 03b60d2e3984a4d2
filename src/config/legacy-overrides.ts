import { isPlainObject } from './schema-walk.js';

// Tempo before 2.3 wrote limits flat (`ingestion_rate_limit_bytes: …`); 2.3+ nests them
// (`ingestion: { rate_limit_bytes: … }`). Tempo still reads both, so we move flat keys into the nested
// layout before validation. Flat keys we do not know stay where they are and are reported as unknown.

const LEGACY_TO_NESTED: Readonly<Record<string, readonly [string, string]>> = {
  ingestion_rate_strategy: ['ingestion', 'rate_strategy'],
  ingestion_rate_limit_bytes: ['ingestion', 'rate_limit_bytes'],
  ingestion_burst_size_bytes: ['ingestion', 'burst_size_bytes'],
  ingestion_tenant_shard_size: ['ingestion', 'tenant_shard_size'],
  max_traces_per_user: ['ingestion', 'max_traces_per_user'],
  max_global_traces_per_user: ['ingestion', 'max_global_traces_per_user'],
  max_bytes_per_trace: ['global', 'max_bytes_per_trace'],
  max_bytes_per_tag_values_query: ['read', 'max_bytes_per_tag_values_query'],
  max_blocks_per_tag_values_query: ['read', 'max_blocks_per_tag_values_query'],
  max_search_duration: ['read', 'max_search_duration'],
  block_retention: ['compaction', 'block_retention'],
  compaction_disabled: ['compaction', 'compaction_disabled'],
  forwarders: ['forwarders', ''],
  parquet_dedicated_columns: ['storage', 'parquet_dedicated_columns'],
};

const LEGACY_METRICS_GENERATOR_PREFIX = 'metrics_generator_';

/** True if `key` is a flat (pre-2.3) per-tenant limit name. */
export function isLegacyLimitKey(key: string): boolean {
  return Object.hasOwn(LEGACY_TO_NESTED, key) || key.startsWith(LEGACY_METRICS_GENERATOR_PREFIX);
}

/**
 * Returns the limits of one tenant (or the defaults) in the nested layout. Where both layouts give
 * the same limit, the nested one wins.
 */
export function nestLegacyLimits(limits: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const moved: Record<string, Record<string, unknown>> = {};
  for (const [key, value] of Object.entries(limits)) {
    const target = LEGACY_TO_NESTED[key];
    if (target !== undefined) {
      const [group, name] = target;
      if (name === '') out[group] ??= value;
      else (moved[group] ??= {})[name] = value;
    } else if (key.startsWith(LEGACY_METRICS_GENERATOR_PREFIX)) {
      (moved['metrics_generator'] ??= {})[key.slice(LEGACY_METRICS_GENERATOR_PREFIX.length)] = value;
    } else {
      out[key] = value;
    }
  }
  for (const [group, values] of Object.entries(moved)) {
    const nested = out[group];
    out[group] = isPlainObject(nested) ? { ...values, ...nested } : nested === undefined || nested === null ? values : nested;
  }
  return out;
}

/** Moves flat limits found directly under `overrides:` of the main config into `overrides.defaults`. */
export function nestLegacyOverridesSection(overrides: Record<string, unknown>): Record<string, unknown> {
  const legacy: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(overrides)) {
    if (isLegacyLimitKey(key)) legacy[key] = value;
    else rest[key] = value;
  }
  if (Object.keys(legacy).length === 0) return overrides;
  const defaults = isPlainObject(rest['defaults']) ? rest['defaults'] : {};
  return { ...rest, defaults: nestLegacyLimits({ ...legacy, ...defaults }) };
}
