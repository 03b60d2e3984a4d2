import { SINGLE_TENANT } from '../model/tenant.js';

/** The tenant of an API request: X-Scope-OrgID when multitenancy is on, else Tempo's single tenant. */
export function tenantOf(headers: Record<string, string | string[] | undefined>, multitenancy: boolean): string | null {
  if (!multitenancy) return SINGLE_TENANT;
  const v = headers['x-scope-orgid'];
  const id = Array.isArray(v) ? v[0] : v;
  return id !== undefined && id.trim() !== '' ? id.trim() : null;
}
