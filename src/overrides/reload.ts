/**
 * Tempo's `overrides.per_tenant_override_period`: the per-tenant overrides file is re-read every
 * period, so limits change without a restart. The file is parsed only when its text changed, in a
 * worker (the parser stays out of the server heap). A file that cannot be read or parsed leaves the
 * last good overrides in force: logged once per bad version, counted, and shown in
 * tempo_runtime_config_last_reload_successful (0) until a good version arrives.
 */
import { readFile } from 'node:fs/promises';
import type { TenantLimits } from '../config/schema.js';
import type { TenantOverrides } from '../config/tenant-overrides.js';
import type { InfoLogger } from '../model/logger.js';
import { overridesReloadFailures, overridesReloadSuccessful } from './metrics.js';

export interface OverridesReloadOptions {
  readonly path: string;
  readonly periodMs: number;
  /** The config's overrides.defaults, under each tenant's own limits. */
  readonly defaults: TenantLimits;
  /** Parses a version of the file; throws (ConfigError) when it is invalid. */
  readonly parse: (text: string, path: string, defaults: TenantLimits) => Promise<TenantOverrides>;
  /** Puts new per-tenant limits in force. */
  readonly apply: (tenants: Record<string, TenantLimits>) => void;
  readonly logger: InfoLogger;
}

export interface OverridesReload {
  /** Re-reads now; resolves true when new overrides were put in force. */
  check(): Promise<boolean>;
  stop(): void;
}

/** Starts re-reading; the file as loaded at start counts as the first good version. */
export function startOverridesReload(opts: OverridesReloadOptions, initialText: string | null): OverridesReload {
  /** Text of the version last tried, good or bad: an unchanged file is not parsed or logged again. */
  let lastText = initialText;
  let running: Promise<boolean> | null = null;
  /** A file missing from the start is optional (as at start-up: every tenant uses the defaults); one that goes away later is an error. */
  let seenFile = initialText !== null;
  let stopped = false;
  overridesReloadSuccessful.set(1);

  const fail = (err: unknown): void => {
    overridesReloadFailures.inc();
    overridesReloadSuccessful.set(0);
    opts.logger.error({ err, path: opts.path }, 'per-tenant overrides file not reloaded; the last good overrides stay in force');
  };

  async function reload(): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(opts.path, 'utf8');
    } catch (err) {
      if (!seenFile && (err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      const marker = `\0unreadable:${(err as NodeJS.ErrnoException).code ?? ''}`;
      if (marker !== lastText) fail(err);
      lastText = marker;
      return false;
    }
    seenFile = true;
    if (text === lastText) return false;
    lastText = text;
    let loaded: TenantOverrides;
    try {
      loaded = await opts.parse(text, opts.path, opts.defaults);
    } catch (err) {
      fail(err);
      return false;
    }
    if (stopped) return false;
    opts.apply(loaded.tenants);
    overridesReloadSuccessful.set(1);
    for (const w of loaded.warnings) opts.logger.warn({ path: opts.path }, w);
    opts.logger.info({ path: opts.path, tenants: Object.keys(loaded.tenants).length }, 'per-tenant overrides reloaded');
    return true;
  }

  const check = (): Promise<boolean> => {
    running ??= reload().finally(() => {
      running = null;
    });
    return running;
  };
  const timer = setInterval(() => {
    check().catch((err: unknown) => opts.logger.error({ err, path: opts.path }, 'per-tenant overrides reload failed'));
  }, opts.periodMs);
  timer.unref();
  return {
    check,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
