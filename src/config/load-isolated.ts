import { Worker } from 'node:worker_threads';
import { ConfigError } from './errors.js';
import type { LoadedConfig } from './load.js';

/** A loaded config plus its effective YAML (what GET /status/config shows). */
export interface IsolatedConfig extends LoadedConfig {
  readonly yaml: string;
}

type WorkerAnswer = { ok: true; loaded: LoadedConfig; yaml: string } | { ok: false; message: string; key?: string };

/**
 * loadConfig, run in a short-lived worker thread. Parsing and validating the config needs the YAML
 * and schema libraries, about 8 MiB of resident memory the server never needs again; loading them in a
 * worker that then exits keeps them out of the process's idle memory. Throws ConfigError as loadConfig does.
 */
export function loadConfigIsolated(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<IsolatedConfig> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./load-worker.js', import.meta.url), { workerData: { args: [...args] }, env });
    let settled = false;
    worker.once('message', (answer: WorkerAnswer) => {
      settled = true;
      void worker.terminate();
      if (answer.ok) resolve({ ...answer.loaded, yaml: answer.yaml });
      else reject(new ConfigError(answer.message, answer.key));
    });
    worker.once('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`config loader exited with code ${code} before answering`));
    });
  });
}
