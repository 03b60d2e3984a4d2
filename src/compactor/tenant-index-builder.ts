/**
 * The builder side of the tenant index (block/tenant-index.ts): the compactor lists every tenant's
 * folder the long way and writes `<tenant>/index.json.gz`, every blocklist_poll and right after a
 * compaction pass that changed blocks, so every other poller reads one object per tenant. In
 * distributed mode only the compactor holding the index lock builds (an etcd lock, separate from the
 * compaction lock so a long pass never starves the index); in one process, its compactor.
 */
import { Counter, Gauge } from 'prom-client';
import type { Backend } from '../backend/backend.js';
import { listTenants } from '../block/listing.js';
import { scanTenant, tenantIndexPath, writeTenantIndex } from '../block/tenant-index.js';
import type { RubatoConfig } from '../config/schema.js';
import { registry } from '../metrics/registry.js';
import type { CompactorLogger } from './compactor.js';

const builder = new Gauge({
  name: 'tempodb_blocklist_tenant_index_builder',
  help: '1 for a tenant whose index this process built at its last build.',
  labelNames: ['tenant'] as const,
  registers: [registry],
});
const buildErrors = new Counter({
  name: 'rubato_tenant_index_build_errors_total',
  help: 'Tenant index builds that failed (the previous index stays; pollers fall back when it goes stale).',
  labelNames: ['tenant'] as const,
  registers: [registry],
});

export interface TenantIndexBuild {
  readonly tenants: number;
  readonly failed: number;
}

/** Scans and writes the index of every tenant; a failing tenant is logged and counted, the others go ahead. */
export async function buildTenantIndexes(backend: Backend, logger?: CompactorLogger): Promise<TenantIndexBuild> {
  let failed = 0;
  const tenants = await listTenants(backend);
  for (const tenant of tenants) {
    try {
      // created_at is when the scan began: a block written during it may be missing, never the reverse.
      const index = await scanTenant(backend, tenant, new Date());
      // A tenant with nothing left keeps no index either: its folder empties (pollers then find no index and list nothing).
      if (index.meta.length === 0 && index.compacted.length === 0) await backend.delete(tenantIndexPath(tenant));
      else await writeTenantIndex(backend, tenant, index);
      builder.set({ tenant }, 1);
    } catch (err) {
      failed++;
      buildErrors.inc({ tenant });
      logger?.error({ tenant, err: String(err) }, 'building the tenant index failed; the previous one stays');
    }
  }
  return { tenants: tenants.length, failed };
}

/** This process did not build at its last turn (another compactor holds the index lock). */
export function notBuilder(): void {
  builder.reset();
}

/** How the compactor builds the index, from the config; null when no index is built. */
export interface TenantIndexBuilderOptions {
  readonly intervalMs: number;
}

export function tenantIndexBuilderOf(cfg: RubatoConfig): TenantIndexBuilderOptions | null {
  const t = cfg.storage.trace;
  // One builder at a time whatever the number (a lock elects it); 0 turns the index off.
  if (t.blocklist_poll_tenant_index_builders <= 0) return null;
  // As often as pollers poll (they poll at most every 30 s, see the querier's Blocklist.start).
  return { intervalMs: Math.min(t.blocklist_poll, 30_000) };
}
