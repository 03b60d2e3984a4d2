import { SINGLE_TENANT, tenantIdProblem } from '../model/tenant.js';

/** Header (HTTP) and metadata key (gRPC) carrying the tenant, as in Tempo. Lower case: both transports normalise to it. */
export const ORG_ID_HEADER = 'x-scope-orgid';

/** 'missing' maps to 401 / UNAUTHENTICATED (Tempo's "no org id"), 'invalid' to 400 / INVALID_ARGUMENT. */
export type TenantErrorKind = 'missing' | 'invalid';

export class TenantError extends Error {
  readonly kind: TenantErrorKind;
  constructor(kind: TenantErrorKind, message: string) {
    super(message);
    this.kind = kind;
    this.name = 'TenantError';
  }
}

/**
 * The tenant a push belongs to. With multitenancy off every push goes to `single-tenant` whatever the
 * header says (as Tempo does); with it on, the org ID is required and validated.
 * Throws TenantError.
 */
export function resolveTenant(orgId: string | undefined, multitenancy: boolean): string {
  if (!multitenancy) return SINGLE_TENANT;
  if (orgId === undefined || orgId === '') throw new TenantError('missing', 'no org id');
  const problem = tenantIdProblem(orgId);
  if (problem !== null) throw new TenantError('invalid', problem);
  return orgId;
}
