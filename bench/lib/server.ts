/**
 * Starting a real rubato for a benchmark: the same node flags as `npm start` (read from
 * package.json, so benchmarks measure what users run), a config on loopback ports, and helpers to
 * read the process's memory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/support/ports.js';
import { writeRubatoConfig } from '../../test/support/rubato-process.js';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const hasTaskset = spawnSync('taskset', ['--version']).status === 0;

/** The node flags of the `start` script: `node <flags> dist/src/main.js`. */
export function startFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.split(/\s+/);
  return words.slice(
    words.indexOf('node') + 1,
    words.findIndex((w) => w.endsWith('main.js')),
  );
}

export interface BenchServer {
  readonly proc: ChildProcess;
  readonly httpPort: number;
  readonly grpcPort: number;
  ready(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Writes a config for `dir` and starts rubato on it, pinned to `core` when taskset exists. `extraYaml`
 * lines follow the `overrides.defaults.ingestion` block (more overrides, or further top-level keys).
 */
export async function startServer(dir: string, opts: { core?: string; ingester?: string[]; extraYaml?: string[] } = {}): Promise<BenchServer> {
  const [httpPort, grpcPort, otlpHttpPort] = [await freePort(), await freePort(), await freePort()];
  const cfg = writeRubatoConfig(
    dir,
    { httpPort, grpcPort, otlpHttpPort },
    {
      logLevel: 'warn',
      grpcMaxRecvMib: 64,
      ingester: opts.ingester ?? ['trace_idle_period: 10s'],
      // Measure rubato, not its ingestion limits.
      extraYaml: ['overrides:', '  defaults:', '    ingestion:', '      rate_limit_bytes: 0', '      max_traces_per_user: 0', ...(opts.extraYaml ?? [])].join(
        '\n',
      ),
    },
  );
  const argv = [...startFlags(), join(projectRoot, 'dist', 'src', 'main.js'), `-config.file=${cfg}`];
  const [cmd, args] = hasTaskset && opts.core !== undefined ? ['taskset', ['-c', opts.core, process.execPath, ...argv]] : [process.execPath, argv];
  const started = Date.now();
  const proc = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  return {
    proc,
    httpPort,
    grpcPort,
    /** Resolves with the ms from spawn to the first 200 from /ready. */
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

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

export const rssMiB = (pid: number): number => statusKiB(pid, 'VmRSS') / 1024;
export const peakRssMiB = (pid: number): number => statusKiB(pid, 'VmHWM') / 1024;
export const taskset = hasTaskset;

/** CPU seconds (user + system) a process has used, from /proc; NaN once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN;
  }
}

/** Runs the ingest benchmark's OTLP/gRPC load (`--load-only`) against a port; its result line and spans/s. */
export function driveIngestLoad(grpcPort: number, seconds: number): Promise<{ line: string; spansPerSec: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [join(projectRoot, 'dist', 'bench', 'ingest', 'ingest.js'), '--load-only', String(grpcPort), '--seconds', String(seconds)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    p.once('exit', (code) => {
      const m = /(\d+) spans\/s/.exec(out);
      if (code !== 0 || m === null) return reject(new Error(`ingest driver failed (${code}): ${out}`));
      resolve({ line: out.trim(), spansPerSec: Number(m[1]) });
    });
  });
}

/**
 * One measured round on a started server: a second to settle, the ingest load for `seconds`, then a
 * line of spans/s, the server's CPU per span and its peak RSS under `name`.
 */
export async function measureIngest(server: BenchServer, name: string, seconds: number, pad: number): Promise<{ spansPerSec: number; cpuUsPerSpan: number }> {
  await server.ready();
  await new Promise((r) => setTimeout(r, 1000));
  const pid = server.proc.pid!;
  const cpu0 = cpuSeconds(pid);
  const r = await driveIngestLoad(server.grpcPort, seconds);
  const cpuUsPerSpan = ((cpuSeconds(pid) - cpu0) * 1e6) / (r.spansPerSec * seconds);
  console.log(
    `${name.padEnd(pad)} ${r.line.replace(/^load\s+/, '').replace(/\s+peak RSS NaN MiB/, '')}  server CPU ${cpuUsPerSpan.toFixed(2)} µs/span  peak RSS ${peakRssMiB(pid).toFixed(0)} MiB`,
  );
  return { spansPerSec: r.spansPerSec, cpuUsPerSpan };
}
