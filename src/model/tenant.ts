/** Tenant IDs: the single tenant's name and what a tenant ID may be, for every way in (push and query). */

/** The tenant used when multitenancy is off, as in Tempo. */
export const SINGLE_TENANT = 'single-tenant';

/** Longest tenant ID accepted; same bound as Tempo's tenant validation. */
export const MAX_TENANT_ID_LENGTH = 150;

// The tenant becomes a directory name under the storage path, so anything that could walk out of it
// ('/', '..') or split into several tenants ('|') is refused: Tempo's character set. A leading '.' is
// refused too: storage keeps its own work folders under dot-names and never lists them as tenants, so
// such a tenant's data would vanish from reads and escape retention.
const TENANT_CHARS = /^[A-Za-z0-9!\-_.*'()]+$/;

/** Why `id` is not a usable tenant ID, or null when it is. */
export function tenantIdProblem(id: string): string | null {
  if (id.length > MAX_TENANT_ID_LENGTH) return `tenant ID is too long: max ${MAX_TENANT_ID_LENGTH} characters`;
  if (!TENANT_CHARS.test(id)) return `tenant ID '${id}' contains unsupported characters`;
  if (id.startsWith('.')) return `tenant ID '${id}' may not start with '.'`;
  return null;
}

/**
 * Separates the tenants of a cross-tenant query (`X-Scope-OrgID: a|b`, as in Tempo). No tenant ID
 * contains it, so a query's tenant set travels as one string (`a|b`, sorted, no repeats) to the
 * querier, whose block sources read each tenant's blocks.
 */
export const TENANT_SEPARATOR = '|';

/** The tenants of a tenant key: `a|b` → ['a', 'b']; a single tenant → [it]. */
export function tenantsOf(key: string): string[] {
  return key.split(TENANT_SEPARATOR);
}
