// Tokens are kept only as hashes, so a leaked config file or /status/config gives nobody access.
// rubato's tokens are random (`npm run hash-token -- --generate` makes 256-bit ones), so a fast hash
// is enough: a slow password hash (scrypt, argon2) protects guessable secrets, and would cost its
// milliseconds on every OTLP push.
import { createHash, randomBytes } from 'node:crypto';

/** Prefix of the one hash form rubato accepts. */
export const SHA256_PREFIX = 'sha256:';

/** Shortest token the CLI hashes: shorter ones could be guessed from their hash. */
export const MIN_TOKEN_LENGTH = 16;

/** The digest a presented token is compared by. */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The config form of a token: `sha256:<64 hex digits>`. */
export function hashToken(token: string): string {
  return SHA256_PREFIX + tokenDigest(token).toString('hex');
}

/** The digest written in the config, or a message saying what is wrong with it. */
export function parseTokenHash(text: string): Buffer | string {
  const t = text.trim();
  if (!t.startsWith(SHA256_PREFIX)) return `token hash must look like "sha256:<64 hex digits>" (make one with npm run hash-token)`;
  const hex = t.slice(SHA256_PREFIX.length).toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) return `token hash must have 64 hex digits after "sha256:"`;
  return Buffer.from(hex, 'hex');
}

/** A new random token: 32 bytes, base64url (43 characters, safe in headers and URLs). */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}
