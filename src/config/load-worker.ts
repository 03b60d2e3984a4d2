/**
 * Worker-thread entry of loadConfigIsolated: loads the config here so the YAML parser and the schema
 * library never enter the server's own heap.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadConfig } from './load.js';
import { renderConfig } from './render.js';
import { ConfigError } from './errors.js';

const { args } = workerData as { args: string[] };
try {
  const loaded = loadConfig(args);
  parentPort?.postMessage({ ok: true, loaded, yaml: renderConfig(loaded.config) });
} catch (err) {
  if (err instanceof ConfigError) parentPort?.postMessage({ ok: false, message: err.message, key: err.key });
  else throw err;
}
