/**
 * Starts rubato for the generator benchmarks: the `npm start` node flags, loopback ports, no ingestion
 * limits, pinned to one core when taskset exists, and a metrics_generator block of the caller's.
 */
import { startServer, type BenchServer } from '../lib/server.js';

export function startGeneratorServer(dir: string, generatorYaml: string[], core: string): Promise<BenchServer> {
  return startServer(dir, { core, ingester: ['trace_idle_period: 10s'], extraYaml: generatorYaml });
}

/** Both processors on for every tenant; `extra` lines go under metrics_generator:. */
export function generatorOn(extra: string[] = [], overrides: string[] = []): string[] {
  return [
    '    metrics_generator:',
    '      processors: [service-graphs, span-metrics]',
    ...overrides.map((l) => `      ${l}`),
    'metrics_generator:',
    ...extra.map((l) => `  ${l}`),
  ];
}
