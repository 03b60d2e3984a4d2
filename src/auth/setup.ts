// Builds the access control the config asks for (auth section), or none: the one place that turns
// token entries from the config and the tokens file into grants, and starts the file's re-reads.
import type { InfoLogger } from '../model/logger.js';
import { AccessControl, grantsFrom, type TokenGrant } from './access.js';
import { readTokensFile, watchTokensFile } from './tokens-file.js';

export interface AuthSettings {
  readonly enabled: boolean;
  readonly tokens: readonly { name: string; hash: string; rights: readonly string[]; tenants: readonly string[] }[];
  readonly tokens_file: string;
  readonly tokens_file_period: number;
  readonly header: string;
  readonly protect_metrics: boolean;
}

export interface AuthRuntime {
  readonly control: AccessControl;
  /** The custom token header, lower case. */
  readonly header: string;
  readonly protectMetrics: boolean;
  stop(): void;
}

/** null when auth is off. Throws with the config path of a bad token or an unreadable tokens file. */
export function startAuth(cfg: AuthSettings, logger: InfoLogger): AuthRuntime | null {
  if (!cfg.enabled) return null;
  const fixed: TokenGrant[] = grantsFrom(cfg.tokens, (i) => `auth.tokens[${i}]`);
  const fromFile = cfg.tokens_file === '' ? [] : readTokensFile(cfg.tokens_file);
  if (fixed.length + fromFile.length === 0 && cfg.tokens_file === '') {
    throw new Error('auth.enabled is true but no tokens are configured (auth.tokens or auth.tokens_file); every request would be refused');
  }
  const control = new AccessControl([...fixed, ...fromFile]);
  const stopWatch = cfg.tokens_file === '' ? () => undefined : watchTokensFile(cfg.tokens_file, cfg.tokens_file_period, fixed, control, logger);
  logger.info({ tokens: control.size, tokensFile: cfg.tokens_file || null }, 'access control on: the API needs read tokens, the OTLP receivers write tokens');
  return { control, header: cfg.header.trim().toLowerCase(), protectMetrics: cfg.protect_metrics, stop: stopWatch };
}
