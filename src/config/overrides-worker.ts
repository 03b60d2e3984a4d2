/**
 * Worker-thread entry of parseTenantOverridesIsolated: a changed per-tenant overrides file is parsed
 * here so the YAML parser and the schema library stay out of the server's heap, as at start-up.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError } from './errors.js';
import type { TenantLimits } from './schema.js';
import { parseTenantOverrides } from './tenant-overrides.js';

const { text, path, defaults } = workerData as { text: string; path: string; defaults: TenantLimits };
try {
  parentPort?.postMessage({ ok: true, loaded: parseTenantOverrides(text, path, defaults) });
} catch (err) {
  if (err instanceof ConfigError) parentPort?.postMessage({ ok: false, message: err.message, key: err.key });
  else throw err;
}
