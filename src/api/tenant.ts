import { SINGLE_TENANT, tenantIdProblem } from '../model/tenant.js';

/** A tenant ID the API cannot serve; answered 400 (fastify uses `statusCode`). */
export class TenantRefused extends Error {
  readonly statusCode = 400;
}

/**
 * The tenant of an API request: X-Scope-OrgID when multitenancy is on, else Tempo's single tenant.
 * null when the header is missing (401); throws TenantRefused for an ID no push could have used.
 */
export function tenantOf(headers: Record<string, string | string[] | undefined>, multitenancy: boolean): string | null {
  if (!multitenancy) return SINGLE_TENANT;
  const v = headers['x-scope-orgid'];
  const id = (Array.isArray(v) ? v[0] : v)?.trim();
  if (id === undefined || id === '') return null;
  const problem = tenantIdProblem(id);
  if (problem !== null) throw new TenantRefused(problem);
  return id;
}
