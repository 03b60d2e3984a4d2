/**
 * Ingest benchmark: OTLP/gRPC load with fresh trace IDs (~370-byte spans) against a real rubato pinned
 * to one core (taskset), then the same load against a decode-and-discard sink for the ratio.
 * Prints spans/s, MB/s, p50/p99 acknowledgement latency and the server's peak RSS.
 *
 *   npm run bench:ingest -- [--seconds 20] [--concurrency 16] [--spans-per-request 500] [--core 0] [--rate SPANS_PER_S]
 *   node dist/bench/ingest/ingest.js --load-only <grpc port> [--seconds N]   (load only, no servers started)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials } from '@grpc/grpc-js';
import { freshRequest, makeTemplate, type RequestTemplate } from '../lib/fresh-ids.js';
import { peakRssMiB, projectRoot, rssMiB, startServer, taskset } from '../lib/server.js';
import { freePort } from '../../test/support/ports.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const seconds = Number(args.get('seconds') ?? 20);
const concurrency = Number(args.get('concurrency') ?? 16);
const spansPerRequest = Number(args.get('spans-per-request') ?? 500);
const spansPerTrace = Number(args.get('spans-per-trace') ?? 10);
const core = args.get('core') ?? '0';
/** Optional cap on the offered load, spans/s (0 = as fast as the server acknowledges). */
const rate = Number(args.get('rate') ?? 0);

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

async function drive(port: number, t: RequestTemplate, durationS: number): Promise<Result> {
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
  // With a rate cap, request i of the whole run is not sent before began + i * gap.
  const gapMs = rate > 0 ? (t.spans / rate) * 1000 : 0;
  let sent = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        if (gapMs > 0) {
          const due = began + sent++ * gapMs;
          if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        }
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
  const t = makeTemplate(spansPerRequest, spansPerTrace);
  const loadOnly = args.get('load-only');
  if (loadOnly !== undefined) {
    // Drive an already running server (for profiling it by hand).
    console.log(line('load', await drive(Number(loadOnly), t, seconds), NaN));
    return;
  }
  console.log(
    `ingest bench: ${seconds}s, concurrency ${concurrency}, ${t.spans} spans/request (${(t.bytes.length / t.spans).toFixed(0)} B/span), ${spansPerTrace} spans/trace, server on core ${taskset ? core : '(no taskset)'}`,
  );

  // rubato, durable (fsync) path, with its default ingester settings
  const dir = mkdtempSync(join(tmpdir(), 'rubato-bench-ingest-'));
  const server = await startServer(dir, { core });
  await server.ready();
  await new Promise((r) => setTimeout(r, 1000));
  const idleRss = rssMiB(server.proc.pid!);
  const rubato = await drive(server.grpcPort, t, seconds);
  const rubatoRss = peakRssMiB(server.proc.pid!);
  await server.stop();
  rmSync(dir, { recursive: true, force: true });

  // bare decode-and-discard sink on the same core
  const sinkPort = await freePort();
  const sinkArgs = [join(projectRoot, 'dist', 'bench', 'ingest', 'sink.js'), String(sinkPort)];
  const sink = taskset
    ? spawn('taskset', ['-c', core, process.execPath, ...sinkArgs], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, sinkArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  await waitFor(sink, /ready/, 'sink');
  const bare = await drive(sinkPort, t, seconds);
  const sinkRss = peakRssMiB(sink.pid!);
  sink.kill('SIGTERM');

  console.log(`idle RSS before load: ${idleRss.toFixed(0)} MiB`);
  console.log(line('rubato', rubato, rubatoRss));
  console.log(line('sink', bare, sinkRss));
  console.log(`ratio rubato/sink: ${(rubato.spansPerSec / bare.spansPerSec).toFixed(2)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
