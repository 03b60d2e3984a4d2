// Tokens can live in a file of their own (a Kubernetes Secret mounted as a file) so they rotate without
// touching the config or restarting: the file is re-read when it changes, and a bad file keeps the
// last good list. One token per line, whitespace-separated, so reading it needs no YAML parser in the
// server (the config's parser lives in a short-lived worker):
//
//   # name     hash                 rights        tenants
//   grafana    sha256:<64 hex>      read          team-a,team-b
//   collector  sha256:<64 hex>      write         *
import { readFileSync, statSync } from 'node:fs';
import type { InfoLogger } from '../model/logger.js';
import { type AccessControl, grantsFrom, type TokenGrant, type TokenSpec, TokenSpecError } from './access.js';

/** The token entries of a tokens file's text; throws TokenSpecError naming the bad line. */
export function parseTokensFile(text: string, path: string): TokenSpec[] {
  const out: TokenSpec[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const fields = line.split(/\s+/);
    if (fields.length !== 4) throw new TokenSpecError(`${path}:${i + 1}`, 'want four fields: name, hash, rights, tenants');
    const [name, hash, rights, tenants] = fields as [string, string, string, string];
    out.push({ name, hash, rights: rights.split(',').filter((r) => r !== ''), tenants: tenants.split(',').filter((t) => t !== '') });
  }
  return out;
}

/** The grants of a tokens file; throws on an unreadable file or a bad entry. */
export function readTokensFile(path: string): TokenGrant[] {
  const text = readFileSync(path, 'utf8');
  const specs = parseTokensFile(text, path);
  return grantsFrom(specs, (i) => `${path}: token "${specs[i]?.name ?? i + 1}"`);
}

/**
 * Re-reads the tokens file every `periodMs` when its size or modification time changed, and hands
 * `fixed` (the config's own tokens) plus the file's to `access`. A file that cannot be read or has a
 * bad entry is logged and the last good list stays. Returns a stop function.
 */
export function watchTokensFile(path: string, periodMs: number, fixed: readonly TokenGrant[], access: AccessControl, logger: InfoLogger): () => void {
  let seen = stamp(path);
  const timer = setInterval(() => {
    const now = stamp(path);
    if (now === seen) return;
    seen = now;
    try {
      const grants = readTokensFile(path);
      access.replace([...fixed, ...grants]);
      logger.info({ path, tokens: grants.length }, 'auth: tokens file re-read');
    } catch (err) {
      logger.error({ path, err: err instanceof Error ? err.message : String(err) }, 'auth: tokens file not usable, keeping the last good tokens');
    }
  }, periodMs);
  timer.unref();
  return () => clearInterval(timer);
}

function stamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.size}:${s.mtimeMs}:${s.ino}`;
  } catch {
    return 'missing';
  }
}
