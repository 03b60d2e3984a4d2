import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The one Prometheus registry every module registers its metrics in. Names follow Tempo's
 * (`tempo_*`) so existing dashboards and alerts keep working.
 */
export const registry = new Registry();

let defaultsOn = false;

/** Process metrics (RSS, CPU, event loop lag, …); on once per process. */
export function enableProcessMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  collectDefaultMetrics({ register: registry });
}
