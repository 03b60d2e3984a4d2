// A rubato cluster on loopback for the cluster test and bench: a real etcd (Debian's etcd-server,
// installed by .ci/run) for the ring, MinIO for the blocks, and one rubato process per -target, all
// started with the same config file (-config.expand-env=true; ports and instance IDs from env).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { createBucket, minioEndpoint, MINIO_ACCESS_KEY, MINIO_SECRET_KEY } from './minio.js';
import { freePort } from './ports.js';
import { mainJs, projectRoot } from './rubato-process.js';

export function etcdBinary(): string | null {
  const given = process.env['RUBATO_ETCD_BIN'];
  if (given !== undefined && given !== '') return given;
  const r = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export interface Etcd {
  readonly endpoint: string;
  stop(): Promise<void>;
}

async function healthy(endpoint: string): Promise<boolean> {
  try {
    return (await fetch(`${endpoint}/health`)).status === 200;
  } catch {
    return false; // not listening yet
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port }, () => {
      sock.destroy();
      resolve(true);
    });
    sock.on('error', () => resolve(false));
  });
}

/** Client TLS for a test etcd: its server pair, and the CA whose client certificates it requires. */
export interface EtcdServerTls {
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCaFile: string;
}

/**
 * A single-member etcd on free loopback ports with a temp data folder (gone with the test process);
 * with `tls`, clients must speak TLS and show a certificate the CA signed.
 */
export async function startEtcd(tls?: EtcdServerTls): Promise<Etcd> {
  const bin = etcdBinary();
  if (bin === null) throw new Error('etcd is not installed: apt-get install etcd-server (.ci/run does)');
  const dir = mkdtempSync(join(tmpdir(), 'rubato-etcd-'));
  const [client, peer] = [await freePort(), await freePort()];
  // The shell stops etcd when this process is gone, or when it is told to stop (TERM), and cleans up.
  const watchdog =
    `"$@" & m=$!; trap 'kill $m 2>/dev/null; wait $m; rm -rf "${dir}"; exit 0' TERM; ` +
    `while kill -0 ${process.pid} 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 1; done; kill $m 2>/dev/null; wait $m; rm -rf "${dir}"`;
  const scheme = tls === undefined ? 'http' : 'https';
  const args = [
    bin,
    '--name',
    'test',
    '--data-dir',
    join(dir, 'data'),
    '--listen-client-urls',
    `${scheme}://127.0.0.1:${client}`,
    '--advertise-client-urls',
    `${scheme}://127.0.0.1:${client}`,
    ...(tls === undefined ? [] : ['--cert-file', tls.certFile, '--key-file', tls.keyFile, '--client-cert-auth', '--trusted-ca-file', tls.clientCaFile]),
    '--listen-peer-urls',
    `http://127.0.0.1:${peer}`,
    '--initial-advertise-peer-urls',
    `http://127.0.0.1:${peer}`,
    '--initial-cluster',
    `test=http://127.0.0.1:${peer}`,
    '--log-level',
    'error',
  ];
  const proc = spawn('sh', ['-c', watchdog, 'sh', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  proc.unref();
  (proc.stderr as { unref?: () => void } | null)?.unref?.();
  const endpoint = `${scheme}://127.0.0.1:${client}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`etcd exited with ${proc.exitCode}: ${err}`);
    // Over TLS, listening is enough here: the health endpoint would want a client certificate.
    if (tls !== undefined ? await listening(client) : await healthy(endpoint)) break;
    if (Date.now() > deadline) throw new Error(`etcd not ready after 30 s: ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      // Held open again while it stops: the wait below must keep the test process alive.
      proc.ref();
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

export type ClusterTarget = 'distributor' | 'ingester' | 'querier' | 'query-frontend' | 'compactor' | 'metrics-generator';

export interface ClusterNode {
  readonly target: ClusterTarget;
  readonly id: string;
  readonly httpPort: number;
  readonly grpcPort: number;
  /** OTLP gRPC port (distributors). */
  readonly otlpGrpcPort: number;
  /** OTLP HTTP port (distributors). */
  readonly otlpHttpPort: number;
  readonly url: string;
  proc: ChildProcess;
  output(): string;
  /** Starts (again, after a kill) with the same ID, ports and data folder. */
  start(): void;
  waitReady(timeoutMs?: number): Promise<void>;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  readonly replicationFactor: number;
  /** Extra lines for the ingester section (indented by two spaces). */
  readonly ingester?: readonly string[];
  readonly logLevel?: string;
  /** Extra lines for the server section, the OTLP gRPC and HTTP receivers, and the top level (unindented). */
  readonly server?: readonly string[];
  readonly grpcReceiver?: readonly string[];
  readonly httpReceiver?: readonly string[];
  readonly topLevel?: readonly string[];
  /** Extra lines for compactor.compaction (indented by four spaces). */
  readonly compaction?: readonly string[];
}

export interface Cluster {
  readonly dir: string;
  readonly configPath: string;
  readonly etcd: Etcd;
  readonly prefix: string;
  readonly nodes: ClusterNode[];
  add(target: ClusterTarget, id: string): Promise<ClusterNode>;
  stopAll(): Promise<void>;
}

/** Writes the shared config and starts etcd and MinIO; processes are added with `add`. */
export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'rubato-cluster-'));
  const [etcd, s3] = await Promise.all([startEtcd(), minioEndpoint()]);
  const bucket = `rubato-cluster-${randomBytes(5).toString('hex')}`;
  await createBucket(s3, bucket);
  const prefix = `rubato-${randomBytes(4).toString('hex')}/`;
  const config = [
    'server:',
    '  http_listen_address: 127.0.0.1',
    '  http_listen_port: ${HTTP_PORT}',
    '  grpc_listen_address: 127.0.0.1',
    '  grpc_listen_port: ${GRPC_PORT}',
    `  log_level: ${opts.logLevel ?? 'info'}`,
    ...(opts.server ?? []).map((l) => `  ${l}`),
    'distributor:',
    '  receivers:',
    '    otlp:',
    '      protocols:',
    '        grpc:',
    '          endpoint: 127.0.0.1:${OTLP_GRPC_PORT:-0}',
    ...(opts.grpcReceiver ?? []).map((l) => `          ${l}`),
    '        http:',
    '          endpoint: 127.0.0.1:${OTLP_HTTP_PORT:-0}',
    ...(opts.httpReceiver ?? []).map((l) => `          ${l}`),
    'ingester:',
    ...(opts.ingester ?? ['trace_idle_period: 1s', 'max_block_duration: 10s', 'complete_block_timeout: 4s']).map((l) => `  ${l}`),
    '  lifecycler:',
    '    id: ${INSTANCE_ID}',
    '    address: 127.0.0.1',
    '    heartbeat_period: 1s',
    '    ring:',
    `      replication_factor: ${opts.replicationFactor}`,
    '      heartbeat_timeout: 15s',
    '      kvstore:',
    '        store: etcd',
    `        prefix: ${prefix}`,
    '        etcd:',
    `          endpoints: [${etcd.endpoint}]`,
    'compactor:',
    '  compaction:',
    '    compaction_cycle: 5s',
    ...(opts.compaction ?? []).map((l) => `    ${l}`),
    'storage:',
    '  trace:',
    '    backend: s3',
    '    blocklist_poll: 1s',
    '    s3:',
    `      bucket: ${bucket}`,
    `      endpoint: ${s3}`,
    '      insecure: true',
    '      forcepathstyle: true',
    `      access_key: ${MINIO_ACCESS_KEY}`,
    `      secret_key: ${MINIO_SECRET_KEY}`,
    `      cache_path: ${dir}/\${INSTANCE_ID}/cache`,
    '    wal:',
    `      path: ${dir}/\${INSTANCE_ID}/wal`,
    ...(opts.topLevel ?? []),
    '',
  ].join('\n');
  const configPath = join(dir, 'rubato.yaml');
  writeFileSync(configPath, config);
  const nodes: ClusterNode[] = [];
  // A test runner that gives up on this file (timeout, Ctrl-C) must not leave nine servers behind.
  const killAll = (): void => {
    for (const n of nodes) if (n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGKILL');
  };
  process.once('exit', killAll);
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      killAll();
      process.exit(1);
    });
  }

  const add = async (target: ClusterTarget, id: string): Promise<ClusterNode> => {
    const [httpPort, grpcPort, otlpGrpcPort, otlpHttpPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    mkdirSync(join(dir, id), { recursive: true });
    let out = '';
    const node: ClusterNode = {
      target,
      id,
      httpPort,
      grpcPort,
      otlpGrpcPort,
      otlpHttpPort,
      url: `http://127.0.0.1:${httpPort}`,
      proc: null as unknown as ChildProcess,
      output: () => out,
      start() {
        node.proc = spawn(process.execPath, [mainJs, `-config.file=${configPath}`, '-config.expand-env=true', `-target=${target}`], {
          cwd: projectRoot,
          env: {
            ...process.env,
            HTTP_PORT: String(httpPort),
            GRPC_PORT: String(grpcPort),
            OTLP_GRPC_PORT: String(otlpGrpcPort),
            OTLP_HTTP_PORT: String(otlpHttpPort),
            INSTANCE_ID: id,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        node.proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
        node.proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      },
      async waitReady(timeoutMs = 60_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          if (node.proc.exitCode !== null) throw new Error(`${id} exited with ${node.proc.exitCode}:\n${out}`);
          try {
            const r = await fetch(`${node.url}/ready`);
            if (r.status === 200) return;
          } catch {
            // not listening yet
          }
          if (Date.now() > deadline) throw new Error(`${id} not ready after ${timeoutMs} ms:\n${out}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      },
      async kill() {
        if (node.proc.exitCode !== null || node.proc.signalCode !== null) return;
        const exited = new Promise((r) => node.proc.once('exit', r));
        node.proc.kill('SIGKILL');
        await exited;
      },
      async stop() {
        if (node.proc.exitCode !== null || node.proc.signalCode !== null) return;
        const exited = new Promise((r) => node.proc.once('exit', r));
        node.proc.kill('SIGTERM');
        const timer = setTimeout(() => node.proc.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      },
    };
    node.start();
    nodes.push(node);
    return node;
  };

  return {
    dir,
    configPath,
    etcd,
    prefix,
    nodes,
    add,
    async stopAll() {
      // Front to back, so nothing is left sending to a stopped process.
      const order: ClusterTarget[] = ['query-frontend', 'distributor', 'querier', 'metrics-generator', 'compactor', 'ingester'];
      for (const t of order) await Promise.all(nodes.filter((n) => n.target === t).map((n) => n.stop()));
      await etcd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` every 250 ms until it holds (a throw counts as not yet); no timing asserts, only a bound. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
