import { notWiredKeysSet } from './not-wired.js';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs, type CliArgs } from './args.js';
import { IMPLEMENTED_STORAGE_BACKENDS } from './defaults.js';
import { ConfigError } from './errors.js';
import { expandEnv, type Env } from './expand-env.js';
import { issuesToConfigError } from './issues.js';
import { nestLegacyOverridesSection } from './legacy-overrides.js';
import { parseYamlMapping } from './parse-yaml.js';
import { rubatoConfigSchema, type RubatoConfig } from './schema.js';
import { isPlainObject, sortKeys } from './schema-walk.js';
import { loadTenantOverrides } from './tenant-overrides.js';
import { apiTlsSettings, grpcTlsSettings, receiverTlsSettings } from '../tls/settings.js';
import { checkRedactionKey } from './redaction.js';

export { parseArgs, type CliArgs } from './args.js';
export { expandEnv, type Env } from './expand-env.js';
export { renderConfig } from './render.js';
export { loadTenantOverrides, type TenantOverrides } from './tenant-overrides.js';
export * from './schema.js';

export interface LoadedConfig {
  config: RubatoConfig;
  /** Everything worth telling the user at start that is not an error (unknown keys, unused keys, …). */
  warnings: string[];
  /** The parsed command line (for -version and -config.verify). */
  args: CliArgs;
}

/**
 * Builds the effective configuration from the command line (Tempo's flags) and the config file it
 * names: built-in defaults, overlaid by the file, overlaid by -target. Throws ConfigError for anything
 * that must stop start-up; everything else ends up in `warnings`.
 */
export function loadConfig(args: readonly string[], env: Env = process.env): LoadedConfig {
  const cli = parseArgs(args);
  const warnings: string[] = [];
  let raw: Record<string, unknown> = {};
  const source = cli.configFile;
  if (source !== undefined) raw = readConfigFile(source, cli.expandEnv, env);

  raw = normalizeRaw(raw);
  const sorted = sortKeys(rubatoConfigSchema, raw);
  const data = sorted.cleaned as Record<string, unknown>;
  if (cli.target !== undefined) data['target'] = cli.target;

  const parsed = rubatoConfigSchema.safeParse(data);
  if (!parsed.success) throw issuesToConfigError(parsed.error, data, '', source);
  const cfg = parsed.data;

  const backend = cfg.storage.trace.backend;
  if (!IMPLEMENTED_STORAGE_BACKENDS.includes(backend)) {
    throw new ConfigError(`storage.trace.backend: ${backend} is not implemented yet (use local or s3)`, 'storage.trace.backend');
  }
  if (backend === 's3' && cfg.storage.trace.s3.bucket === '') {
    throw new ConfigError('storage.trace.s3.bucket: required when storage.trace.backend is s3', 'storage.trace.s3.bucket');
  }
  // Tempo's "" means every interface; say so explicitly for the servers.
  if (cfg.server.http_listen_address === '') cfg.server.http_listen_address = '0.0.0.0';

  if (sorted.unknown.length > 0) warnings.push(`unknown or unsupported config keys ignored: ${sorted.unknown.join(', ')}`);
  const unused = [...sorted.unused, ...notWiredKeysSet(raw)];
  if (unused.length > 0) warnings.push(`config keys accepted but not used by rubato yet: ${unused.join(', ')}`);
  const { grpc, http } = cfg.distributor.receivers.otlp.protocols;
  // Half-set TLS blocks fail here, with their key, rather than starting in plaintext.
  apiTlsSettings(cfg.server);
  receiverTlsSettings('otlp-grpc', grpc?.tls);
  receiverTlsSettings('otlp-http', http?.tls);
  if (grpcTlsSettings(cfg.server) !== null && cfg.target === 'all') {
    warnings.push('server.grpc_tls_config secures the internal gRPC port of the distributed targets; -target=all does not listen there');
  }
  if (grpc === null && http === null) warnings.push('distributor.receivers: no OTLP receiver is enabled; rubato will not accept spans');
  if (cli.unknown.length > 0) warnings.push(`unknown command-line arguments ignored: ${cli.unknown.join(' ')}`);

  let perTenant: RubatoConfig['overrides']['per_tenant'] = {};
  const overridesPath = cfg.overrides.per_tenant_override_config;
  if (overridesPath !== '') {
    const loaded = loadTenantOverrides(resolve(overridesPath), cfg.overrides.defaults);
    perTenant = loaded.tenants;
    warnings.push(...loaded.warnings);
  }

  // Hash rules must find their key now, not at the first push.
  checkRedactionKey(cfg.overrides.defaults.redaction, 'overrides.defaults.redaction', env);
  for (const [tenant, l] of Object.entries(perTenant)) checkRedactionKey(l.redaction, `overrides.${tenant}.redaction`, env);

  const config: RubatoConfig = { ...cfg, overrides: { ...cfg.overrides, per_tenant: perTenant } };
  return { config, warnings, args: cli };
}

/** The built-in configuration, as rubato runs with no config file. */
export function defaultConfig(): RubatoConfig {
  return loadConfig([], {}).config;
}

function readConfigFile(path: string, expand: boolean, env: Env): Record<string, unknown> {
  if (!existsSync(path)) throw new ConfigError(`config file not found: ${path}`, 'config.file');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`, 'config.file');
  }
  if (expand) {
    try {
      text = expandEnv(text, env);
    } catch (err) {
      if (err instanceof ConfigError) throw new ConfigError(`${path}: ${err.message}`, err.key);
      throw err;
    }
  }
  return parseYamlMapping(text, path);
}

/** Old spellings Tempo still reads, moved to where the schema expects them. */
function normalizeRaw(raw: Record<string, unknown>): Record<string, unknown> {
  const out = { ...raw };
  // Tempo 1.x called multitenancy `auth_enabled`; Tempo 2 reads both.
  if (Object.hasOwn(out, 'auth_enabled')) {
    if (!Object.hasOwn(out, 'multitenancy_enabled')) out['multitenancy_enabled'] = out['auth_enabled'];
    delete out['auth_enabled'];
  }
  if (isPlainObject(out['overrides'])) out['overrides'] = nestLegacyOverridesSection(out['overrides']);
  return out;
}
