import type { RubatoConfig, TenantLimits } from '../config/schema.js';

/** A tenant's limits: its per-tenant overrides when it has some, the defaults otherwise. */
export function tenantLimits(cfg: RubatoConfig, tenant: string): TenantLimits {
  return cfg.overrides.per_tenant[tenant] ?? cfg.overrides.defaults;
}
