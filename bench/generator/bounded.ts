/**
 * The generator under the worst load for memory: 40 s of spans that each carry a new span name (so a
 * new series per span), both processors on, and a remote-write URL where nothing listens. Prints the
 * peak RSS of the whole rubato process, the size of the generator's folder (storage.path), and what
 * the limits refused or dropped. Targets: peak RSS under 300 MiB, folder under 256 MiB.
 *
 *   npm run bench:generator-bounded -- [--seconds 40] [--concurrency 8] [--spans-per-request 500] [--core 0]
 *                                       [--collection-interval 5s] [--generator off]   (off: the same load, for comparison)
 */
import { randomFillSync } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials } from '@grpc/grpc-js';
import { WireWriter } from '../../src/otlp/wire.js';
import { freePort } from '../../test/support/ports.js';
import { exportOnce } from '../lib/otlp-grpc.js';
import { peakRssMiB, rssMiB } from '../lib/server.js';
import { generatorOn, startGeneratorServer } from './server.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const seconds = Number(args.get('seconds') ?? 40);
const concurrency = Number(args.get('concurrency') ?? 8);
const spansPerRequest = Number(args.get('spans-per-request') ?? 500);
const core = args.get('core') ?? '0';
const collectionInterval = args.get('collection-interval') ?? '5s';
const generatorEnabled = args.get('generator') !== 'off';
const SERVICES = ['frontend', 'checkout', 'cart', 'payments', 'inventory'];

let nameCounter = 0;

/** One request: SPANS_PER_TRACE-span traces, server/client spans across services, every span name new. */
function request(): Buffer {
  const w = new WireWriter(spansPerRequest * 120);
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const traceId = Buffer.alloc(16);
  const ids: Buffer[] = [];
  for (let s = 0; s < SERVICES.length; s++) {
    const rs = w.beginMessage(1);
    const res = w.beginMessage(1);
    const kv = w.beginMessage(1);
    w.stringField(1, 'service.name');
    const av = w.beginMessage(2);
    w.stringField(1, SERVICES[s]!);
    w.endMessage(av);
    w.endMessage(kv);
    w.endMessage(res);
    const ss = w.beginMessage(2);
    const scope = w.beginMessage(1);
    w.stringField(1, 'bounded-bench');
    w.endMessage(scope);
    for (let i = 0; i < spansPerRequest / SERVICES.length; i++) {
      if (i % 10 === 0) randomFillSync(traceId);
      const spanId = randomFillSync(Buffer.alloc(8));
      ids.push(spanId);
      const sp = w.beginMessage(2);
      w.bytesField(1, traceId);
      w.bytesField(2, spanId);
      if (i % 10 !== 0) w.bytesField(4, ids[ids.length - 2]!);
      w.stringField(5, `op-${nameCounter++}`);
      w.tag(6, 0);
      w.varint(i % 2 === 0 ? 2 : 3);
      w.tag(7, 1);
      w.fixed64(nowNs - 5_000_000n);
      w.tag(8, 1);
      w.fixed64(nowNs);
      w.endMessage(sp);
    }
    w.endMessage(ss);
    w.endMessage(rs);
  }
  return Buffer.from(w.finish());
}

function folderBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    total += st.isDirectory() ? folderBytes(p) : st.size;
  }
  return total;
}

function metric(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name + '{') || line.startsWith(name + ' ')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rubato-bench-gen-bounded-'));
  const genDir = join(dir, 'generator');
  const deadPort = await freePort(); // nothing listens: the remote end is down for the whole run
  const server = await startGeneratorServer(
    dir,
    !generatorEnabled
      ? []
      : generatorOn([
          'storage:',
          `  path: ${genDir}`,
          '  remote_write:',
          `    - url: http://127.0.0.1:${deadPort}/api/v1/write`,
          '      send_exemplars: true',
          'registry:',
          `  collection_interval: ${collectionInterval}`,
        ]),
    core,
  );
  let peakFolder = 0;
  try {
    await server.ready();
    console.log(
      `generator bounded bench (generator ${generatorEnabled ? `on, collection every ${collectionInterval}` : 'OFF'}): ${seconds}s, concurrency ${concurrency}, ${spansPerRequest} spans/request, a new span name per span, remote write to a closed port`,
    );
    console.log(`idle RSS: ${rssMiB(server.proc.pid!).toFixed(0)} MiB`);
    const client = new Client(`127.0.0.1:${server.grpcPort}`, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 << 20 });
    let spans = 0;
    let errors = 0;
    const began = Date.now();
    const deadline = began + seconds * 1000;
    const sampler = setInterval(() => {
      peakFolder = Math.max(peakFolder, folderBytes(genDir));
    }, 1000);
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (Date.now() < deadline) {
          const req = request();
          const ok = (await exportOnce(client, req)) === null;
          if (ok) spans += spansPerRequest;
          else errors++;
        }
      }),
    );
    clearInterval(sampler);
    client.close();
    const elapsed = (Date.now() - began) / 1000;
    // one more collection so the queue has seen the last series
    await new Promise((r) => setTimeout(r, 6000));
    peakFolder = Math.max(peakFolder, folderBytes(genDir));
    const text = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
    const genText = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics/generator`)).text();
    console.log(`sent ${spans} spans (${(spans / elapsed).toFixed(0)} spans/s, ${errors} failed requests), ${spans} distinct span names`);
    console.log(
      `peak RSS of the rubato process: ${peakRssMiB(server.proc.pid!).toFixed(0)} MiB (target < 300), RSS now ${rssMiB(server.proc.pid!).toFixed(0)} MiB`,
    );
    console.log(`generator folder (${genDir}): peak ${(peakFolder / 1048576).toFixed(1)} MiB (target < 256)`);
    console.log(
      `active series ${metric(text, 'tempo_metrics_generator_registry_active_series')} (cap ${metric(text, 'tempo_metrics_generator_registry_max_active_series')}), refused ${metric(text, 'tempo_metrics_generator_registry_series_limited_total')}`,
    );
    console.log(
      `remote-write queue ${(metric(text, 'tempo_metrics_generator_remote_write_queue_bytes') / 1048576).toFixed(1)} MiB (budget ${(metric(text, 'tempo_metrics_generator_remote_write_queue_max_bytes') / 1048576).toFixed(0)} MiB), samples dropped ${metric(text, 'tempo_metrics_generator_remote_write_samples_dropped_total')}, spans dropped by the service-graph store ${metric(genText, 'traces_service_graph_dropped_spans_total')}`,
    );
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
