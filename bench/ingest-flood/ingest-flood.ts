/**
 * Ingest flood: what abusive or merely bursty clients do to the server's memory. Each scenario runs
 * against a fresh rubato process (default config unless said otherwise) and prints accepted / refused
 * counts and the server's peak RSS (VmHWM):
 *   (a) 256 concurrent OTLP/HTTP POSTs of a ~30 KB gzip body that expands to ~3.9 MB;
 *   (b) 64 concurrent 3.6 MB OTLP/gRPC requests;
 *   (c) 4-way OTLP/JSON pushes vs 4-way OTLP/HTTP protobuf pushes of the same spans (limits off).
 *
 *   npm run bench:ingest-flood -- [--flood-seconds 10] [--push-seconds 40] [--only a,b,c] [--http-clients 256]
 *     [--grpc-clients 64] [--spans-per-request 4000] [--inflight 64MiB]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Client, credentials } from '@grpc/grpc-js';
import { generateExportRequest } from '../lib/generate.js';
import { freshRequest, makeTemplate } from '../lib/fresh-ids.js';
import { traceToOtlpJson } from '../lib/otlp-json.js';
import { peakRssMiB, projectRoot, rssMiB, startFlags } from '../lib/server.js';
import { decodeTrace } from '../../src/otlp/trace-decode.js';
import { freePort } from '../../test/support/ports.js';
import { writeRubatoConfig } from '../../test/support/rubato-process.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const floodSeconds = Number(args.get('flood-seconds') ?? 10);
const pushSeconds = Number(args.get('push-seconds') ?? 40);
const only = new Set((args.get('only') ?? 'a,b,c').split(','));
const httpClients = Number(args.get('http-clients') ?? 256);
const grpcClients = Number(args.get('grpc-clients') ?? 64);
/** distributor.max_inflight_bytes for the runs, e.g. "32MiB"; the server's default when absent. */
const inflight = args.get('inflight');
/** Spans per request in (c): 4000 make a ~3.2 MB JSON body, near the 4 MiB default size limit. */
const spansPerRequest = Number(args.get('spans-per-request') ?? 4000);

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const NO_LIMITS = ['overrides:', '  defaults:', '    ingestion:', '      rate_limit_bytes: 0', '      max_traces_per_user: 0'].join('\n');

interface Server {
  readonly pid: number;
  readonly grpcPort: number;
  readonly otlpHttpPort: number;
  /** Highest VmRSS seen by the 50 ms sampler, MiB (VmHWM is read at the end as well). */
  sampledPeak(): number;
  /** Highest V8 heap and external (Buffer) memory seen in /metrics, MiB. */
  heapPeaks(): { heap: number; external: number };
  stop(): Promise<void>;
}

async function startRubato(extraYaml = ''): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'rubato-flood-'));
  const [httpPort, grpcPort, otlpHttpPort] = [await freePort(), await freePort(), await freePort()];
  const cfg = writeRubatoConfig(dir, { httpPort, grpcPort, otlpHttpPort }, { logLevel: 'error', ingester: ['trace_idle_period: 10s'], extraYaml });
  if (inflight !== undefined) writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('\ndistributor:\n', `\ndistributor:\n  max_inflight_bytes: ${inflight}\n`));
  const proc = spawn(process.execPath, [...startFlags(), join(projectRoot, 'dist', 'src', 'main.js'), `-config.file=${cfg}`], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`rubato exited with ${proc.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${httpPort}/ready`)).status === 200) break;
    } catch {
      /* starting */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  // /ready may answer before the receivers bind on older builds; wait until the OTLP/HTTP port answers.
  for (;;) {
    try {
      await fetch(`http://127.0.0.1:${otlpHttpPort}/`);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const pid = proc.pid!;
  let peak = 0;
  const sampler = setInterval(() => {
    const r = rssMiB(pid);
    if (r > peak) peak = r;
  }, 50);
  const peaks = { heap: 0, external: 0 };
  const metricOf = (text: string, name: string): number => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? 0) / 2 ** 20;
  const scraper = setInterval(() => {
    fetch(`http://127.0.0.1:${httpPort}/metrics`)
      .then((r) => r.text())
      .then((t) => {
        peaks.heap = Math.max(peaks.heap, metricOf(t, 'nodejs_heap_size_total_bytes'));
        peaks.external = Math.max(peaks.external, metricOf(t, 'nodejs_external_memory_bytes'));
      })
      .catch(() => undefined);
  }, 250);
  return {
    pid,
    grpcPort,
    otlpHttpPort,
    sampledPeak: () => Math.max(peak, peakRssMiB(pid)),
    heapPeaks: () => peaks,
    async stop() {
      clearInterval(sampler);
      clearInterval(scraper);
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Counts {
  accepted: number;
  refused: number;
  other: Map<string, number>;
}

const newCounts = (): Counts => ({ accepted: 0, refused: 0, other: new Map() });
function countOther(c: Counts, what: string): void {
  c.other.set(what, (c.other.get(what) ?? 0) + 1);
}

function report(name: string, c: Counts, server: Server, extra = ''): void {
  const other = [...c.other].map(([k, v]) => `${k}×${v}`).join(' ');
  console.log(
    `${name.padEnd(44)} accepted ${String(c.accepted).padStart(6)}  refused(429/RESOURCE_EXHAUSTED) ${String(c.refused).padStart(6)}` +
      `  other ${other === '' ? '-' : other}  peak RSS ${server.sampledPeak().toFixed(0)} MiB` +
      ` (V8 heap ${server.heapPeaks().heap.toFixed(0)}, external ${server.heapPeaks().external.toFixed(0)})${extra}`,
  );
}

/** Workers each send back to back until the deadline. */
async function runWorkers(workers: number, seconds: number, send: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (Date.now() < deadline) await send();
    }),
  );
}

async function postHttp(port: number, body: Buffer | string, headers: Record<string, string>, c: Counts): Promise<void> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/v1/traces`, { method: 'POST', body, headers });
    await r.arrayBuffer();
    if (r.status === 200) c.accepted++;
    else if (r.status === 429) c.refused++;
    else countOther(c, String(r.status));
  } catch (err) {
    countOther(c, (err as { cause?: { code?: string } }).cause?.code ?? 'fetch-error');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function grpcSend(client: Client, req: Buffer, c: Counts): Promise<void> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      EXPORT_PATH,
      (b: Buffer) => b,
      (b: Buffer) => b,
      req,
      (err) => {
        if (err === null) c.accepted++;
        else if (err.code === 8) c.refused++;
        else countOther(c, `grpc-${err.code}`);
        resolve();
      },
    );
  });
}

async function scenarioGzipFlood(): Promise<void> {
  // Concatenated ExportTraceServiceRequests are one valid request (repeated fields merge), and the
  // repetition is what makes the body compress ~130×, like a gzip bomb that is still valid OTLP.
  const unit = Buffer.from(generateExportRequest({ traces: 1, spansPerTrace: 10, seed: 3 }));
  const copies = Math.ceil(3.9e6 / unit.length);
  const raw = Buffer.concat(Array.from({ length: copies }, () => unit));
  const gz = gzipSync(raw, { level: 9 });
  const server = await startRubato();
  const c = newCounts();
  await runWorkers(httpClients, floodSeconds, () =>
    postHttp(server.otlpHttpPort, gz, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }, c),
  );
  report(`(a) ${httpClients}× gzip POST ${(gz.length / 1024).toFixed(0)} KB → ${(raw.length / 1e6).toFixed(1)} MB, ${floodSeconds}s`, c, server);
  await server.stop();
}

async function scenarioGrpcFlood(): Promise<void> {
  const template = makeTemplate(9700, 10);
  const server = await startRubato();
  const c = newCounts();
  const clients = Array.from(
    { length: grpcClients },
    () => new Client(`127.0.0.1:${server.grpcPort}`, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 << 20 }),
  );
  let i = 0;
  await runWorkers(grpcClients, floodSeconds, () => grpcSend(clients[i++ % clients.length]!, freshRequest(template), c));
  report(`(b) ${grpcClients}× gRPC ${(template.bytes.length / 1e6).toFixed(1)} MB, ${floodSeconds}s`, c, server);
  for (const cl of clients) cl.close();
  await server.stop();
}

async function scenarioJsonVsProto(): Promise<void> {
  // A pool of distinct requests (fresh trace IDs), built before the server starts so the client's
  // work does not compete with it during the run.
  const template = makeTemplate(spansPerRequest, 10);
  const protos = Array.from({ length: 20 }, () => freshRequest(template));
  const jsons = protos.map((p) => traceToOtlpJson(decodeTrace(p)));
  const protoMb = protos[0]!.length / 1e6;
  const jsonMb = Buffer.byteLength(jsons[0]!) / 1e6;
  for (const kind of ['json', 'protobuf'] as const) {
    const server = await startRubato(NO_LIMITS);
    const c = newCounts();
    let i = 0;
    const began = Date.now();
    await runWorkers(4, pushSeconds, () => {
      const k = i++ % protos.length;
      return kind === 'json'
        ? postHttp(server.otlpHttpPort, jsons[k]!, { 'content-type': 'application/json' }, c)
        : postHttp(server.otlpHttpPort, protos[k]!, { 'content-type': 'application/x-protobuf' }, c);
    });
    const spansPerSec = (c.accepted * template.spans) / ((Date.now() - began) / 1000);
    const size = kind === 'json' ? `${jsonMb.toFixed(2)} MB JSON` : `${protoMb.toFixed(2)} MB protobuf`;
    report(`(c) 4-way HTTP ${size}, ${pushSeconds}s`, c, server, `  ${Math.round(spansPerSec).toLocaleString('en-US')} spans/s`);
    await server.stop();
  }
}

console.log(`ingest-flood: node ${process.version}; each scenario on a fresh server; numbers are noisy on a shared machine`);
if (only.has('a')) await scenarioGzipFlood();
if (only.has('b')) await scenarioGrpcFlood();
if (only.has('c')) await scenarioJsonVsProto();
