import type { RubatoConfig } from '../config/schema.js';
import { tenantLimits } from './limits.js';

// A tenant's metrics-generator settings, from its overrides (Tempo's `metrics_generator.*` limits, or
// the legacy flat `metrics_generator_*` keys, already nested by the config loader).

export type GeneratorProcessor = 'service-graphs' | 'span-metrics';

export interface GeneratorTenantSettings {
  /** Processors running for the tenant; empty = the generator ignores its spans (Tempo's default). */
  readonly processors: ReadonlySet<GeneratorProcessor>;
  /** 0 = no limit */
  readonly maxActiveSeries: number;
  readonly collectionIntervalMs: number;
  /** Processors the overrides name that rubato does not have (Tempo's local-blocks): warned about, not run. */
  readonly unsupported?: readonly string[];
}

export function generatorSettings(cfg: RubatoConfig, tenant: string): GeneratorTenantSettings {
  const g = tenantLimits(cfg, tenant).metrics_generator;
  const processors = new Set<GeneratorProcessor>();
  const unsupported: string[] = [];
  for (const p of g.processors) {
    if (p === 'service-graphs' || p === 'span-metrics') processors.add(p);
    else unsupported.push(p);
  }
  return {
    processors,
    unsupported,
    maxActiveSeries: g.max_active_series,
    collectionIntervalMs: g.collection_interval > 0 ? g.collection_interval : cfg.metrics_generator.registry.collection_interval,
  };
}
