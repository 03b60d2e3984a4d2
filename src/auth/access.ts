// rubato's own access control (Tempo leaves it to a gateway): bearer tokens, each with rights (read for
// the query API, write for the OTLP receivers) and the tenants it may reach. Every way in asks the same
// AccessControl, so the API and both receivers refuse alike and count refusals in one metric.
import { timingSafeEqual } from 'node:crypto';
import { authDenied, type AuthSurface, type DenyReason } from './metrics.js';
import { parseTokenHash, tokenDigest } from './token-hash.js';
import { ALL_TENANTS, type Right, type TokenSpec, tokenSpecProblem } from './token-spec.js';

export { ALL_TENANTS, RIGHTS, type Right, type TokenSpec } from './token-spec.js';

/** One configured token, as held in memory: its hash, never the token. */
export interface TokenGrant {
  /** Shown in logs and error messages instead of the token. */
  readonly name: string;
  readonly digest: Buffer;
  readonly rights: ReadonlySet<Right>;
  /** The tenants it reaches; null: every tenant. */
  readonly tenants: ReadonlySet<string> | null;
}

/** A token entry that cannot be used; `where` names it (config path or file line). */
export class TokenSpecError extends Error {
  constructor(where: string, problem: string) {
    super(`${where}: ${problem}`);
    this.name = 'TokenSpecError';
  }
}

/** Checks and converts token entries; throws TokenSpecError naming the first bad one. */
export function grantsFrom(specs: readonly TokenSpec[], where: (i: number) => string): TokenGrant[] {
  return specs.map((s, i) => {
    const problem = tokenSpecProblem(s);
    if (problem !== null) throw new TokenSpecError(where(i), problem);
    const digest = parseTokenHash(s.hash) as Buffer;
    const rights = new Set(s.rights as readonly Right[]);
    const tenants = s.tenants.includes(ALL_TENANTS) ? null : new Set(s.tenants);
    return { name: s.name === '' ? `token ${i + 1}` : s.name, digest, rights, tenants };
  });
}

/** 401 (no or unknown token) or 403 (token without the right or the tenant). */
export class AuthDenied extends Error {
  readonly status: 401 | 403;
  readonly reason: DenyReason;
  constructor(reason: DenyReason, message: string) {
    super(message);
    this.name = 'AuthDenied';
    this.reason = reason;
    this.status = reason === 'missing_token' || reason === 'unknown_token' ? 401 : 403;
  }
}

/** Which tenants a request reaches: some by name, or every one (an unscoped scrape). */
export type TenantScope = readonly string[] | 'all';

export class AccessControl {
  private grants: readonly TokenGrant[];

  constructor(grants: readonly TokenGrant[]) {
    this.grants = grants;
  }

  /** Swaps the token list (tokens file re-read); requests in flight keep the grant they found. */
  replace(grants: readonly TokenGrant[]): void {
    this.grants = grants;
  }

  get size(): number {
    return this.grants.length;
  }

  /**
   * The grant a token belongs to, or null. Every configured digest is compared, in constant time and
   * without stopping at a match, so timing tells nothing about which or how many tokens exist.
   */
  authenticate(token: string): TokenGrant | null {
    const digest = tokenDigest(token);
    let found: TokenGrant | null = null;
    for (const g of this.grants) {
      if (timingSafeEqual(g.digest, digest) && found === null) found = g;
    }
    return found;
  }

  /**
   * The grant of a request that needs `right`: throws AuthDenied (401 without a known token, 403
   * without the right), counted in rubato_auth_denied_total.
   */
  authorize(token: string | undefined, right: Right, surface: AuthSurface): TokenGrant {
    if (token === undefined || token === '') {
      return deny('missing_token', surface, 'authentication required: send the token as "Authorization: Bearer <token>"');
    }
    const grant = this.authenticate(token);
    if (grant === null) return deny('unknown_token', surface, 'invalid token');
    if (!grant.rights.has(right)) return deny('missing_right', surface, `token "${grant.name}" has no ${right} right`);
    return grant;
  }

  /** Throws AuthDenied (403) unless `grant` reaches every one of `tenants`. */
  checkTenants(grant: TokenGrant, tenants: TenantScope, surface: AuthSurface): void {
    const reach = grant.tenants;
    if (reach === null) return;
    if (tenants === 'all') deny('tenant', surface, `token "${grant.name}" does not reach every tenant`);
    else {
      const missing = tenants.filter((t) => !reach.has(t));
      if (missing.length > 0) deny('tenant', surface, `token "${grant.name}" has no access to tenant ${missing.map((t) => `"${t}"`).join(', ')}`);
    }
  }
}

function deny(reason: DenyReason, surface: AuthSurface, message: string): never {
  authDenied.inc({ reason, surface });
  throw new AuthDenied(reason, message);
}
