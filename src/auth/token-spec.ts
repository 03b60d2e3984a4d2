// What a token entry (config or tokens file) must hold, checked without anything else loaded, so the
// config loader can refuse a bad entry at start (and -config.verify) with its dotted path.
import { parseTokenHash } from './token-hash.js';

export const RIGHTS = ['read', 'write'] as const;
export type Right = (typeof RIGHTS)[number];

/** In a token's tenant list: every tenant. */
export const ALL_TENANTS = '*';

/** A token as written in the config or the tokens file. */
export interface TokenSpec {
  readonly name: string;
  readonly hash: string;
  readonly rights: readonly string[];
  readonly tenants: readonly string[];
}

/** What is wrong with a token entry, or null. */
export function tokenSpecProblem(s: TokenSpec): string | null {
  const digest = parseTokenHash(s.hash);
  if (typeof digest === 'string') return digest;
  const bad = s.rights.find((r) => !(RIGHTS as readonly string[]).includes(r));
  if (bad !== undefined) return `unknown right "${bad}" (want ${RIGHTS.join(', ')})`;
  if (s.rights.length === 0) return 'no rights: list read and/or write';
  if (s.tenants.length === 0) return `no tenants: list them, or "${ALL_TENANTS}" for every tenant`;
  return null;
}
