// A real S3-compatible server for tests: MinIO (installed by .ci/run from the Go module proxy), started
// once per test process on a loopback port with a temp data folder and known credentials.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { s3ClientConfig, type S3BackendOptions } from '../../src/backend/s3.js';
import { freePort } from './ports.js';

export const MINIO_ACCESS_KEY = 'rubato-test';
export const MINIO_SECRET_KEY = 'rubato-test-secret';

/** Where .ci/run installs MinIO (GOBIN); RUBATO_MINIO_BIN overrides. */
export function minioBinary(): string | null {
  const candidates = [process.env['RUBATO_MINIO_BIN'], join(homedir(), '.local', 'rubato-tools', 'bin', 'minio')];
  for (const c of candidates) if (c !== undefined && c !== '' && existsSync(c)) return c;
  return null;
}

let started: Promise<string> | null = null;

/** The endpoint (`127.0.0.1:port`) of a running MinIO: RUBATO_TEST_S3_ENDPOINT, else one started now. */
export function minioEndpoint(): Promise<string> {
  const given = process.env['RUBATO_TEST_S3_ENDPOINT'];
  if (given !== undefined && given !== '') return Promise.resolve(given);
  started ??= startMinio();
  return started;
}

async function startMinio(): Promise<string> {
  const bin = minioBinary();
  if (bin === null) throw new Error('MinIO is not installed: run .ci/run (or set RUBATO_MINIO_BIN)');
  const dir = mkdtempSync(join(tmpdir(), 'rubato-minio-'));
  const port = await freePort();
  const consolePort = await freePort();
  // A watchdog shell stops MinIO when this process is gone, even when the test runner kills it.
  const watchdog =
    `"$@" & m=$!; while kill -0 ${process.pid} 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 1; done; ` +
    `kill $m 2>/dev/null; wait $m; rm -rf "$MINIO_TEST_DIR"`;
  const args = [bin, 'server', '--quiet', '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, dir];
  const proc: ChildProcess = spawn('sh', ['-c', watchdog, 'sh', ...args], {
    env: {
      ...process.env,
      MINIO_ROOT_USER: MINIO_ACCESS_KEY,
      MINIO_ROOT_PASSWORD: MINIO_SECRET_KEY,
      MINIO_BROWSER: 'off',
      MINIO_UPDATE: 'off',
      MINIO_TEST_DIR: dir,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  // The test process ends when its tests do; MinIO goes with it (below), it does not hold it open.
  proc.unref();
  (proc.stderr as { unref?: () => void } | null)?.unref?.();
  const endpoint = `127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`minio exited with ${proc.exitCode}: ${err}`);
    try {
      const r = await fetch(`http://${endpoint}/minio/health/ready`);
      if (r.status === 200) return endpoint;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`minio not ready after 30 s: ${err}`);
}

/** Options for rubato's S3 backend against the test MinIO. */
export function minioOptions(endpoint: string, bucket: string): S3BackendOptions {
  return { bucket, endpoint, insecure: true, forcePathStyle: true, accessKey: MINIO_ACCESS_KEY, secretKey: MINIO_SECRET_KEY };
}

/** Creates a bucket (an existing one is fine). */
export async function createBucket(endpoint: string, bucket: string): Promise<void> {
  const client = new S3Client(s3ClientConfig(minioOptions(endpoint, bucket)));
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw e;
  } finally {
    client.destroy();
  }
}
