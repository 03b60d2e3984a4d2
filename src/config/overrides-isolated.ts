// Re-reading the per-tenant overrides file while the server runs, without its parser in the server heap.
import { Worker } from 'node:worker_threads';
import { ConfigError } from './errors.js';
import type { TenantLimits } from './schema.js';
import type { TenantOverrides } from './tenant-overrides.js';

type WorkerAnswer = { ok: true; loaded: TenantOverrides } | { ok: false; message: string; key?: string };

/**
 * parseTenantOverrides in a short-lived worker thread (see load-isolated.ts for why): used when the
 * overrides file changed while the server runs. Rejects with ConfigError for a bad file.
 */
export function parseTenantOverridesIsolated(text: string, path: string, defaults: TenantLimits): Promise<TenantOverrides> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./overrides-worker.js', import.meta.url), { workerData: { text, path, defaults } });
    let settled = false;
    worker.once('message', (answer: WorkerAnswer) => {
      settled = true;
      void worker.terminate();
      if (answer.ok) resolve(answer.loaded);
      else reject(new ConfigError(answer.message, answer.key));
    });
    worker.once('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`overrides parser exited with code ${code} before answering`));
    });
  });
}
