import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';
import { issuesToConfigError } from './issues.js';
import { nestLegacyLimits } from './legacy-overrides.js';
import { parseYamlMapping } from './parse-yaml.js';
import { tenantLimitsSchema, type TenantLimits } from './schema.js';
import { isPlainObject, sortKeys } from './schema-walk.js';

// The per-tenant overrides file (`overrides.per_tenant_override_config`), Tempo's runtime config:
//   overrides:
//     "<tenant>":
//       ingestion: { rate_limit_bytes: … }     # or the legacy flat keys
// Each tenant's limits are laid over the config's `overrides.defaults`, as Tempo does.

export interface TenantOverrides {
  tenants: Record<string, TenantLimits>;
  warnings: string[];
}

/**
 * Lays a tenant's parsed limits over the defaults: a value comes from the tenant only where the
 * tenant's file actually set it (`given` is the tenant's raw, cleaned section), from `defaults` otherwise.
 */
function overlay(defaults: unknown, parsed: unknown, given: unknown): unknown {
  if (!isPlainObject(defaults) || !isPlainObject(parsed) || !isPlainObject(given)) return parsed;
  const out: Record<string, unknown> = { ...defaults };
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(parsed, key)) continue;
    out[key] = isPlainObject(defaults[key]) ? overlay(defaults[key], parsed[key], given[key]) : parsed[key];
  }
  return out;
}

/**
 * Reads the per-tenant overrides file at `path`. A missing file is a warning (Tempo's charts mount it
 * optionally); bad YAML or wrong values are a ConfigError. `defaults` is the config's
 * `overrides.defaults`. The file is re-read every `per_tenant_override_period` (overrides/reload.ts).
 */
export function loadTenantOverrides(path: string, defaults: TenantLimits): TenantOverrides {
  if (!existsSync(path)) {
    return {
      tenants: {},
      warnings: [`overrides.per_tenant_override_config: file ${path} not found; every tenant uses overrides.defaults`],
    };
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read per-tenant overrides file ${path}: ${(err as Error).message}`, 'overrides.per_tenant_override_config');
  }
  return parseTenantOverrides(text, path, defaults);
}

/** The per-tenant overrides in `text` (the file at `path`, named in errors); throws ConfigError as loadTenantOverrides. */
export function parseTenantOverrides(text: string, path: string, defaults: TenantLimits): TenantOverrides {
  const raw = parseYamlMapping(text, path);
  const tenants: Record<string, TenantLimits> = {};
  const unknown: string[] = [];
  const unused: string[] = [];
  for (const key of Object.keys(raw)) if (key !== 'overrides') unknown.push(key);

  const perTenant = raw['overrides'];
  if (perTenant !== undefined && perTenant !== null && !isPlainObject(perTenant)) {
    throw new ConfigError(`invalid config in ${path}: overrides: expected a mapping of tenant IDs to limits`, 'overrides');
  }
  for (const [tenant, limits] of Object.entries(perTenant ?? {})) {
    const prefix = `overrides.${tenant}`;
    if (limits !== null && !isPlainObject(limits)) {
      throw new ConfigError(`invalid config in ${path}: ${prefix}: expected a mapping of limits`, prefix);
    }
    const sorted = sortKeys(tenantLimitsSchema, nestLegacyLimits(limits ?? {}), prefix);
    unknown.push(...sorted.unknown);
    unused.push(...sorted.unused);
    const parsed = tenantLimitsSchema.safeParse(sorted.cleaned);
    if (!parsed.success) throw issuesToConfigError(parsed.error, sorted.cleaned, prefix, path);
    tenants[tenant] = overlay(defaults, parsed.data, sorted.cleaned) as TenantLimits;
  }
  const warnings: string[] = [];
  if (unknown.length > 0) warnings.push(`unknown or unsupported keys ignored in ${path}: ${unknown.join(', ')}`);
  if (unused.length > 0) warnings.push(`keys accepted but not used by rubato yet in ${path}: ${unused.join(', ')}`);
  return { tenants, warnings };
}
