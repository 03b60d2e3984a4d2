import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import type { Backend } from '../../src/backend/backend.js';
import { createBackend, type BackendSpec } from '../../src/backend/create.js';
import type { S3BackendOptions } from '../../src/backend/s3.js';
import { createBucket, minioEndpoint, minioOptions } from './minio.js';

/**
 * The storage integration tests run on: `local` (default), or `s3` (RUBATO_TEST_BACKEND=s3), where each
 * server gets a bucket of its own on the test MinIO. The same tests pass on both.
 */
export const TEST_BACKEND: 'local' | 's3' = process.env['RUBATO_TEST_BACKEND'] === 's3' ? 's3' : 'local';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/test/support → project root */
export const projectRoot = resolve(here, '..', '..', '..');
export const mainJs = join(projectRoot, 'dist', 'src', 'main.js');

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
  /** The server's block storage, opened from the test (to list or inspect blocks on either backend). */
  readonly storage: Backend;
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
  /** Extra lines of the OTLP/HTTP receiver (distributor.receivers.otlp.protocols.http). */
  readonly otlpHttp?: string[];
  /** Blocks in this bucket instead of under `dir`. */
  readonly s3?: S3BackendOptions;
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
    ...(opts.otlpHttp ?? []).map((l) => `          ${l}`),
    'ingester:',
    ...(opts.ingester ?? ['trace_idle_period: 1s']).map((l) => `  ${l}`),
    'storage:',
    '  trace:',
    `    backend: ${opts.s3 !== undefined ? 's3' : 'local'}`,
    '    local:',
    `      path: ${join(dir, 'traces')}`,
    ...(opts.s3 !== undefined
      ? [
          '    s3:',
          `      bucket: ${opts.s3.bucket}`,
          `      endpoint: ${opts.s3.endpoint ?? ''}`,
          `      insecure: ${opts.s3.insecure === true}`,
          `      forcepathstyle: ${opts.s3.forcePathStyle === true}`,
          `      access_key: ${opts.s3.accessKey ?? ''}`,
          `      secret_key: ${opts.s3.secretKey ?? ''}`,
          `      cache_path: ${join(dir, 'block-cache')}`,
        ]
      : []),
    '    wal:',
    `      path: ${join(dir, 'wal')}`,
    opts.extraYaml ?? '',
  ].join('\n');
  const path = join(dir, 'rubato.yaml');
  writeFileSync(path, config);
  return path;
}

/** A rubato process on a written config file, its stdout and stderr collected; `stop` sends SIGTERM and waits. */
export function spawnRubato(
  configPath: string,
  opts: { readonly mainJs?: string; readonly env?: Record<string, string> } = {},
): { proc: ChildProcess; output(): string; exited: Promise<number | null>; stop(): Promise<number | null> } {
  const proc = spawn(process.execPath, [opts.mainJs ?? mainJs, `-config.file=${configPath}`], {
    cwd: projectRoot,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  return {
    proc,
    output: () => out,
    exited,
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      return exited;
    },
  };
}

export async function startRubato(opts: RubatoOptions = {}): Promise<RubatoProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'rubato-it-'));
  mkdirSync(dataDir, { recursive: true });
  const [httpPort, grpcPort, otlpHttpPort] = [await freePort(), await freePort(), await freePort()];
  const s3 = TEST_BACKEND === 's3' && opts.s3 === undefined ? await testBucket(dataDir) : opts.s3;
  const configPath = writeRubatoConfig(dataDir, { httpPort, grpcPort, otlpHttpPort }, { ...opts, ...(s3 !== undefined ? { s3 } : {}) });
  const spec: BackendSpec = s3 !== undefined ? { kind: 's3', s3 } : { kind: 'local', path: join(dataDir, 'traces') };
  const { proc, output, exited, stop } = spawnRubato(configPath, opts);
  const url = `http://127.0.0.1:${httpPort}`;
  const self: RubatoProcess = {
    dataDir,
    httpPort,
    grpcPort,
    otlpHttpPort,
    url,
    proc,
    storage: createBackend(spec),
    output,
    async waitReady(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (proc.exitCode !== null) throw new Error(`rubato exited with ${proc.exitCode}:\n${output()}`);
        try {
          const r = await fetch(`${url}/ready`);
          if (r.status === 200) return;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`rubato not ready after ${timeoutMs} ms:\n${output()}`);
    },
    stop,
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

/** The bucket of a data folder on the test MinIO: made on first start, the same after a restart. */
async function testBucket(dataDir: string): Promise<S3BackendOptions> {
  const endpoint = await minioEndpoint();
  const marker = join(dataDir, 's3-bucket');
  const bucket = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : `rubato-it-${randomBytes(6).toString('hex')}`;
  await createBucket(endpoint, bucket);
  writeFileSync(marker, bucket);
  return minioOptions(endpoint, bucket);
}
