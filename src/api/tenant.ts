import { SINGLE_TENANT, TENANT_SEPARATOR, tenantIdProblem } from '../model/tenant.js';

/** A tenant ID the API cannot serve; answered 400 (fastify uses `statusCode`). */
export class TenantRefused extends Error {
  readonly statusCode = 400;
}

/**
 * The tenants an X-Scope-OrgID value names: one, or several separated by `|` (Tempo's cross-tenant
 * query), sorted and without repeats as Tempo normalises them. Throws TenantRefused for an ID no push
 * could have used.
 */
export function parseOrgIds(value: string): string[] {
  const ids = [...new Set(value.split(TENANT_SEPARATOR).map((s) => s.trim()))].sort();
  for (const id of ids) {
    if (id === '') throw new TenantRefused(`tenant ID '${value}' has an empty tenant`);
    const problem = tenantIdProblem(id);
    if (problem !== null) throw new TenantRefused(problem);
  }
  return ids;
}

/** X-Scope-OrgID of a request, trimmed; undefined when absent or empty. */
export function orgIdHeader(headers: Record<string, string | string[] | undefined>): string | undefined {
  const v = headers['x-scope-orgid'];
  const id = (Array.isArray(v) ? v[0] : v)?.trim();
  return id === undefined || id === '' ? undefined : id;
}

/**
 * The tenant key of an API request: X-Scope-OrgID when multitenancy is on (several tenants joined by
 * `|`, which the querier reads across), else Tempo's single tenant. null when the header is missing
 * (401); throws TenantRefused for an ID no push could have used.
 */
export function tenantOf(headers: Record<string, string | string[] | undefined>, multitenancy: boolean): string | null {
  if (!multitenancy) return SINGLE_TENANT;
  const id = orgIdHeader(headers);
  if (id === undefined) return null;
  return parseOrgIds(id).join(TENANT_SEPARATOR);
}
