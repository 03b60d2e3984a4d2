import { SINGLE_TENANT } from '../model/tenant.js';

/** Header (HTTP) and metadata key (gRPC) carrying the tenant, as in Tempo. Lower case: both transports normalise to it. */
export const ORG_ID_HEADER = 'x-scope-orgid';

/** Longest tenant ID accepted; same bound as Tempo's tenant validation. */
export const MAX_TENANT_ID_LENGTH = 150;

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

// The tenant becomes a directory name under the storage path, so anything that could walk out of it
// ('/', '..') or split into several tenants ('|') is refused. Same character set Tempo accepts.
const TENANT_CHARS = /^[A-Za-z0-9!\-_.*'()]+$/;

/**
 * The tenant a push belongs to. With multitenancy off every push goes to `single-tenant` whatever the
 * header says (as Tempo does); with it on, the org ID is required and validated.
 * Throws TenantError.
 */
export function resolveTenant(orgId: string | undefined, multitenancy: boolean): string {
  if (!multitenancy) return SINGLE_TENANT;
  if (orgId === undefined || orgId === '') throw new TenantError('missing', 'no org id');
  if (orgId.length > MAX_TENANT_ID_LENGTH) {
    throw new TenantError('invalid', `tenant ID is too long: max ${MAX_TENANT_ID_LENGTH} characters`);
  }
  if (orgId === '.' || orgId === '..' || !TENANT_CHARS.test(orgId)) {
    throw new TenantError('invalid', `tenant ID '${orgId}' contains unsupported characters`);
  }
  return orgId;
}
