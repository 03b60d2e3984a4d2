/** Health of the per-tenant overrides file re-read (Tempo's TempoBadOverrides alert reads the gauge). */
import { Counter, Gauge } from 'prom-client';
import { registry } from '../metrics/registry.js';

export const overridesReloadSuccessful = new Gauge({
  name: 'tempo_runtime_config_last_reload_successful',
  help: 'Whether the last runtime-config reload attempt was successful.',
  registers: [registry],
});

export const overridesReloadFailures = new Counter({
  name: 'rubato_overrides_reload_failures_total',
  help: 'Re-reads of the per-tenant overrides file that failed (unreadable or invalid); the last good overrides stay in force.',
  registers: [registry],
});
