/**
 * Starts rubato for the generator benchmarks: the `npm start` node flags, loopback ports, no ingestion
 * limits, pinned to one core when taskset exists, and a metrics_generator block of the caller's.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../test/support/ports.js';
import { writeRubatoConfig } from '../../test/support/rubato-process.js';
import { projectRoot, startFlags, taskset, type BenchServer } from '../lib/server.js';

export async function startGeneratorServer(dir: string, generatorYaml: string[], core: string): Promise<BenchServer> {
  const [httpPort, grpcPort, otlpHttpPort] = [await freePort(), await freePort(), await freePort()];
  const cfg = writeRubatoConfig(
    dir,
    { httpPort, grpcPort, otlpHttpPort },
    {
      logLevel: 'warn',
      grpcMaxRecvMib: 64,
      ingester: ['trace_idle_period: 10s'],
      extraYaml: ['overrides:', '  defaults:', '    ingestion:', '      rate_limit_bytes: 0', '      max_traces_per_user: 0', ...generatorYaml].join('\n'),
    },
  );
  const argv = [...startFlags(), join(projectRoot, 'dist', 'src', 'main.js'), `-config.file=${cfg}`];
  const [cmd, args] = taskset ? ['taskset', ['-c', core, process.execPath, ...argv]] : [process.execPath, argv];
  const proc = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const started = Date.now();
  return {
    proc,
    httpPort,
    grpcPort,
    async ready() {
      for (;;) {
        if (proc.exitCode !== null) throw new Error(`rubato exited with ${proc.exitCode}`);
        try {
          if ((await fetch(`http://127.0.0.1:${httpPort}/ready`)).status === 200) return Date.now() - started;
        } catch {
          /* starting */
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
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
