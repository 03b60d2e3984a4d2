import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/test/lib → project root */
export const projectRoot = resolve(here, '..', '..', '..');
const mainJs = join(projectRoot, 'dist', 'src', 'main.js');

export interface RubatoOptions extends ConfigOptions {
  /** Reuse a data folder (restart tests); a fresh temp folder otherwise. */
  readonly dataDir?: string;
  readonly env?: Record<string, string>;
  /** The server's entry file; default the project's dist/src/main.js. */
  readonly mainJs?: string;
}

/** A real rubato server process for integration tests, on free loopback ports. */
export interface RubatoProcess {
  readonly dataDir: string;
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly otlpHttpPort: number;
  readonly url: string;
  readonly proc: ChildProcess;
  output(): string;
  waitReady(timeoutMs?: number): Promise<void>;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, no chance to flush. */
  kill(): Promise<void>;
  /** Deletes the data folder. */
  cleanup(): void;
}

export interface Ports {
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly otlpHttpPort: number;
}

export interface ConfigOptions {
  /** Extra server section body lines. */
  readonly server?: string[];
  /** ingester section body lines; default ['trace_idle_period: 1s']. */
  readonly ingester?: string[];
  /** Extra YAML appended (top-level keys not otherwise set). */
  readonly extraYaml?: string;
  readonly logLevel?: string;
  readonly grpcMaxRecvMib?: number;
}

/** Writes `<dir>/rubato.yaml`: loopback ports, storage under `dir`; returns its path. */
export function writeRubatoConfig(dir: string, ports: Ports, opts: ConfigOptions = {}): string {
  const config = [
    'server:',
    `  http_listen_address: 127.0.0.1`,
    `  http_listen_port: ${ports.httpPort}`,
    `  log_level: ${opts.logLevel ?? 'info'}`,
    ...(opts.server ?? []).map((l) => `  ${l}`),
    'distributor:',
    '  receivers:',
    '    otlp:',
    '      protocols:',
    '        grpc:',
    `          endpoint: 127.0.0.1:${ports.grpcPort}`,
    ...(opts.grpcMaxRecvMib !== undefined ? [`          max_recv_msg_size_mib: ${opts.grpcMaxRecvMib}`] : []),
    '        http:',
    `          endpoint: 127.0.0.1:${ports.otlpHttpPort}`,
    'ingester:',
    ...(opts.ingester ?? ['trace_idle_period: 1s']).map((l) => `  ${l}`),
    'storage:',
    '  trace:',
    '    backend: local',
    '    local:',
    `      path: ${join(dir, 'traces')}`,
    '    wal:',
    `      path: ${join(dir, 'wal')}`,
    opts.extraYaml ?? '',
  ].join('\n');
  const path = join(dir, 'rubato.yaml');
  writeFileSync(path, config);
  return path;
}

export async function startRubato(opts: RubatoOptions = {}): Promise<RubatoProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'rubato-it-'));
  mkdirSync(dataDir, { recursive: true });
  const [httpPort, grpcPort, otlpHttpPort] = [await freePort(), await freePort(), await freePort()];
  const configPath = writeRubatoConfig(dataDir, { httpPort, grpcPort, otlpHttpPort }, opts);
  const proc = spawn(process.execPath, [opts.mainJs ?? mainJs, `-config.file=${configPath}`], {
    cwd: projectRoot,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const url = `http://127.0.0.1:${httpPort}`;
  const self: RubatoProcess = {
    dataDir,
    httpPort,
    grpcPort,
    otlpHttpPort,
    url,
    proc,
    output: () => out,
    async waitReady(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (proc.exitCode !== null) throw new Error(`rubato exited with ${proc.exitCode}:\n${out}`);
        try {
          const r = await fetch(`${url}/ready`);
          if (r.status === 200) return;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`rubato not ready after ${timeoutMs} ms:\n${out}`);
    },
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGKILL');
      await exited;
    },
    cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return self;
}
