/**
 * Ingest benchmark: OTLP/gRPC load with fresh trace IDs (~370-byte spans) against a real rubato pinned
 * to one core (taskset), then the same load against a decode-and-discard sink for the ratio.
 * Prints spans/s, MB/s, p50/p99 acknowledgement latency and the server's peak RSS.
 *
 *   npm run bench:ingest -- [--seconds 20] [--concurrency 16] [--spans-per-request 500] [--core 0]
 *   node dist/bench/ingest/ingest.js --load-only <grpc port> [--seconds N]   (load only, no servers started)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomFillSync } from 'node:crypto';
import { Client, credentials } from '@grpc/grpc-js';
import { generateExportRequest } from '../lib/generate.js';
import { decodeExportRequest } from '../../src/otlp/decode-request.js';
import { freePort } from '../../test/lib/ports.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const seconds = Number(args.get('seconds') ?? 20);
const concurrency = Number(args.get('concurrency') ?? 16);
const spansPerRequest = Number(args.get('spans-per-request') ?? 500);
const spansPerTrace = Number(args.get('spans-per-trace') ?? 10);
const core = args.get('core') ?? '0';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const hasTaskset = spawnSync('taskset', ['--version']).status === 0;

/** A request template and where its spans' trace IDs sit, so each send can carry fresh ones. */
interface Template {
  readonly bytes: Buffer;
  /** byte offsets of each span's 16-byte trace ID, grouped per trace */
  readonly traceIdOffsets: number[][];
  readonly spans: number;
}

function makeTemplate(): Template {
  const bytes = Buffer.from(generateExportRequest({ traces: Math.ceil(spansPerRequest / spansPerTrace), spansPerTrace, seed: 7 }));
  const batch = decodeExportRequest(bytes, 'bench');
  const byTrace = new Map<string, number[]>();
  for (const s of batch.spans) {
    const at = s.span.byteOffset - bytes.byteOffset;
    // trace_id is field 1 (tag 0x0a, length 16) and our generator writes it first
    if (bytes[at] !== 0x0a || bytes[at + 1] !== 16) throw new Error('generator does not write trace_id first');
    const list = byTrace.get(s.traceId) ?? [];
    list.push(at + 2);
    byTrace.set(s.traceId, list);
  }
  return { bytes, traceIdOffsets: [...byTrace.values()], spans: batch.spans.length };
}

function freshRequest(t: Template): Buffer {
  const b = Buffer.from(t.bytes);
  const id = Buffer.allocUnsafe(16);
  for (const offsets of t.traceIdOffsets) {
    randomFillSync(id);
    for (const o of offsets) id.copy(b, o);
  }
  return b;
}

function peakRssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

function pinned(cmd: string[]): [string, string[]] {
  return hasTaskset ? ['taskset', ['-c', core, ...cmd]] : [cmd[0]!, cmd.slice(1)];
}

async function waitFor(proc: ChildProcess, pattern: RegExp, what: string): Promise<void> {
  let out = '';
  await new Promise<void>((res, rej) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      if (pattern.test(out)) res();
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => rej(new Error(`${what} exited ${code}: ${out}`)));
  });
}

interface Result {
  spansPerSec: number;
  mbPerSec: number;
  p50: number;
  p99: number;
  errors: number;
}

async function drive(port: number, t: Template, durationS: number): Promise<Result> {
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 << 20 });
  const latencies: number[] = [];
  let spans = 0;
  let bytes = 0;
  let errors = 0;
  const deadline = Date.now() + durationS * 1000;
  const send = (req: Buffer) =>
    new Promise<boolean>((res) => {
      client.makeUnaryRequest(
        '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
        (b: Buffer) => b,
        (b: Buffer) => b,
        req,
        (err) => res(err === null),
      );
    });
  const began = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        const req = freshRequest(t);
        const t0 = process.hrtime.bigint();
        const ok = await send(req);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (!ok) {
          errors++;
          continue;
        }
        latencies.push(ms);
        spans += t.spans;
        bytes += req.length;
      }
    }),
  );
  const elapsed = (Date.now() - began) / 1000;
  client.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return { spansPerSec: spans / elapsed, mbPerSec: bytes / elapsed / 1e6, p50: pct(50), p99: pct(99), errors };
}

function line(name: string, r: Result, rss: number): string {
  return `${name.padEnd(8)} ${r.spansPerSec.toFixed(0).padStart(8)} spans/s  ${r.mbPerSec.toFixed(1).padStart(6)} MB/s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  errors ${r.errors}  peak RSS ${rss.toFixed(0)} MiB`;
}

async function main(): Promise<void> {
  const t = makeTemplate();
  const loadOnly = args.get('load-only');
  if (loadOnly !== undefined) {
    // Drive an already running server (for profiling it by hand).
    console.log(line('load', await drive(Number(loadOnly), t, seconds), NaN));
    return;
  }
  console.log(
    `ingest bench: ${seconds}s, concurrency ${concurrency}, ${t.spans} spans/request (${(t.bytes.length / t.spans).toFixed(0)} B/span), ${spansPerTrace} spans/trace, server on core ${hasTaskset ? core : '(no taskset)'}`,
  );

  // rubato, durable (fsync) path
  const dir = mkdtempSync(join(tmpdir(), 'rubato-bench-ingest-'));
  const [httpPort, grpcPort, otlpHttpPort] = [await freePort(), await freePort(), await freePort()];
  const cfg = join(dir, 'rubato.yaml');
  writeFileSync(
    cfg,
    [
      'server:',
      '  http_listen_address: 127.0.0.1',
      `  http_listen_port: ${httpPort}`,
      '  log_level: warn',
      'distributor:',
      '  receivers:',
      '    otlp:',
      '      protocols:',
      '        grpc:',
      `          endpoint: 127.0.0.1:${grpcPort}`,
      '          max_recv_msg_size_mib: 64',
      '        http:',
      `          endpoint: 127.0.0.1:${otlpHttpPort}`,
      'storage:',
      '  trace:',
      '    backend: local',
      '    local:',
      `      path: ${join(dir, 'traces')}`,
      '    wal:',
      `      path: ${join(dir, 'wal')}`,
      'overrides:',
      '  defaults:',
      '    ingestion:',
      '      rate_limit_bytes: 0',
      '      max_traces_per_user: 0',
    ].join('\n'),
  );
  const [cmd, cmdArgs] = pinned([process.execPath, join(root, 'dist', 'src', 'main.js'), `-config.file=${cfg}`]);
  const server = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  const ready = (async () => {
    for (;;) {
      try {
        if ((await fetch(`http://127.0.0.1:${httpPort}/ready`)).status === 200) return;
      } catch {
        /* starting */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await ready;
  const idleRss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  const rubato = await drive(grpcPort, t, seconds);
  const rubatoRss = peakRssMiB(server.pid!);
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(dir, { recursive: true, force: true });

  // bare decode-and-discard sink on the same core
  const sinkPort = await freePort();
  const [scmd, sargs] = pinned([process.execPath, join(root, 'dist', 'bench', 'ingest', 'sink.js'), String(sinkPort)]);
  const sink = spawn(scmd, sargs, { stdio: ['ignore', 'pipe', 'pipe'] });
  await waitFor(sink, /ready/, 'sink');
  const bare = await drive(sinkPort, t, seconds);
  const sinkRss = peakRssMiB(sink.pid!);
  sink.kill('SIGTERM');

  console.log(`idle RSS after start: ${idleRss.toFixed(0)} MiB`);
  console.log(line('rubato', rubato, rubatoRss));
  console.log(line('sink', bare, sinkRss));
  console.log(`ratio rubato/sink: ${(rubato.spansPerSec / bare.spansPerSec).toFixed(2)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
