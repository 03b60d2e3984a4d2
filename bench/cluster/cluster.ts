/**
 * Scale-out benchmark (issue 12): a distributed rubato on loopback (etcd ring, MinIO blocks, one
 * distributor, one query frontend) with 1, 2 and 3 ingesters and as many queriers. For each size:
 * OTLP/gRPC ingest as fast as the cluster acknowledges (fresh trace IDs), then concurrent searches
 * through the frontend, then (FLUSH=1, the default) the ingesters flush so the same searches read
 * stored blocks and recent data, and TraceQL metrics query_range over 30 minutes of the generated spans
 * (which the frontend splits into query_frontend.metrics.interval jobs). Prints the curve: spans/s acknowledged,
 * ack p50/p99, search and metrics p50/p99, and per process the spans it took and the CPU it used — on
 * a 2-core machine the processes share two cores, so the curve shows contention more than scaling.
 * Replication factor 1 unless RF is set (RF=3 writes every span three times). The tenant's ingestion rate
 * and live-trace limits are raised out of the way; "refused" counts, with their reasons, the pushes the
 * cluster still turned away.
 *
 *   npm run bench:cluster                 SECONDS=10 CONCURRENCY=16 SPANS_PER_REQUEST=500 SEARCHES=40 METRICS=20 FLUSH=1 SIZES=1,2,3 RF=1
 */
import { exportOnce } from '../lib/otlp-grpc.js';
import { cpuSeconds } from '../lib/server.js';
import { Client, credentials, status } from '@grpc/grpc-js';
import { freshRequest, makeTemplate, type RequestTemplate } from '../lib/fresh-ids.js';
import { startCluster, type ClusterNode } from '../../test/support/cluster.js';

const env = (k: string, d: number): number => (process.env[k] !== undefined && process.env[k] !== '' ? Number(process.env[k]) : d);
const SECONDS = env('SECONDS', 10);
const CONCURRENCY = env('CONCURRENCY', 16);
const SPANS_PER_REQUEST = env('SPANS_PER_REQUEST', 500);
const SEARCHES = env('SEARCHES', 40);
const METRICS = env('METRICS', 20);
const FLUSH = env('FLUSH', 1) === 1;
const RF = env('RF', 1);
const SIZES = (process.env['SIZES'] ?? '1,2,3').split(',').map(Number);
const SERVICES = ['frontend', 'checkout', 'cart', 'payments', 'inventory'];

async function metric(node: ClusterNode, name: string): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.split(' ').pop());
  return sum;
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

async function ingest(port: number, t: RequestTemplate): Promise<{ spansPerSec: number; p50: number; p99: number; errors: number; why: string }> {
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 << 20 });
  const latencies: number[] = [];
  let spans = 0;
  let errors = 0;
  // Refusals by gRPC status and the first words of their message, so the curve says what bounded it.
  const reasons = new Map<string, number>();
  const began = Date.now();
  const deadline = began + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < deadline) {
        const req = freshRequest(t);
        const t0 = performance.now();
        const err = await exportOnce(client, req);
        if (err !== null) {
          const why = `${status[err.code] ?? err.code}: ${err.details.replace(/\d+/g, 'N').slice(0, 160)}`;
          reasons.set(why, (reasons.get(why) ?? 0) + 1);
          errors++;
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        latencies.push(performance.now() - t0);
        spans += t.spans;
      }
    }),
  );
  client.close();
  const elapsed = (Date.now() - began) / 1000;
  const why = [...reasons].map(([r, n]) => `${n}× ${r}`).join('; ');
  return { spansPerSec: spans / elapsed, p50: pct(latencies, 50), p99: pct(latencies, 99), errors, why };
}

/** `count` requests, `parallel` at a time, to the URLs `url(i)` gives: latency p50/p99 of the 200s. */
async function timed(count: number, parallel: number, url: (i: number) => string): Promise<{ p50: number; p99: number; failed: number }> {
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        try {
          const r = await fetch(url(i));
          await r.arrayBuffer();
          if (r.status !== 200) failed++;
          else latencies.push(performance.now() - t0);
        } catch {
          // The frontend closed the connection (server.http_server_write_timeout): a failed query.
          failed++;
        }
      }
    }),
  );
  return { p50: pct(latencies, 50), p99: pct(latencies, 99), failed };
}

function search(frontend: ClusterNode): Promise<{ p50: number; p99: number; failed: number }> {
  return timed(SEARCHES, 4, (i) => {
    const q = `{ resource.service.name = "${SERVICES[i % SERVICES.length]}" && span.http.status_code >= 500 }`;
    return `${frontend.url}/api/search?q=${encodeURIComponent(q)}&limit=20`;
  });
}

/**
 * Metrics over 30 minutes at a 15 s step (120 points; six jobs of query_frontend.metrics.interval, 5m)
 * from the generated spans' first second (bench/lib/generate.ts stamps them from 2026-01-01 on).
 */
function metricsQueries(frontend: ClusterNode): Promise<{ p50: number; p99: number; failed: number }> {
  const start = 1_767_225_600 - 60;
  return timed(METRICS, 2, (i) => {
    const q = `{ resource.service.name = "${SERVICES[i % SERVICES.length]}" } | rate() by (span.http.route)`;
    return `${frontend.url}/api/metrics/query_range?q=${encodeURIComponent(q)}&start=${start}&end=${start + 1800}&step=15s`;
  });
}

async function runSize(n: number, t: RequestTemplate): Promise<string[]> {
  const cluster = await startCluster({
    replicationFactor: RF,
    logLevel: 'warn',
    ingester: ['trace_idle_period: 2s', 'max_block_duration: 30s', 'complete_block_timeout: 1m'],
    // The generated spans are stamped 2026-01-01: retention must not delete their blocks when a compactor runs.
    compaction: ['block_retention: 100000h'],
    // The cluster's capacity is measured, not the tenant's default limits: 15 MB/s (about 40 000 of these
    // spans/s) and 10 000 live traces per ingester (reached at about 35 000 spans/s with 2 s idle).
    topLevel: [
      'overrides:',
      '  defaults:',
      '    ingestion:',
      '      rate_limit_bytes: 1000000000',
      '      burst_size_bytes: 1000000000',
      '      max_traces_per_user: 1000000',
    ],
  });
  try {
    const ingesters = await Promise.all(Array.from({ length: n }, (_, i) => cluster.add('ingester', `ingester-${i + 1}`)));
    await Promise.all(ingesters.map((x) => x.waitReady()));
    const queriers = await Promise.all(Array.from({ length: n }, (_, i) => cluster.add('querier', `querier-${i + 1}`)));
    const distributor = await cluster.add('distributor', 'distributor');
    const frontend = await cluster.add('query-frontend', 'frontend');
    await Promise.all([...queriers, distributor, frontend].map((x) => x.waitReady()));
    // Let the frontend see every querier before measuring.
    await new Promise((r) => setTimeout(r, 2_000));
    const procs = cluster.nodes;
    const cpu0 = new Map(procs.map((p) => [p.id, cpuSeconds(p.proc.pid ?? 0)]));
    const bytes0 = new Map(await Promise.all(ingesters.map(async (x) => [x.id, await metric(x, 'tempo_ingester_bytes_received_total')] as const)));
    const began = Date.now();
    const ing = await ingest(distributor.otlpGrpcPort, t);
    const elapsed = (Date.now() - began) / 1000;
    const bytesPerSpan = t.bytes.length / t.spans;
    if (ing.errors > 0 && distributor.proc.exitCode !== null) console.error(`distributor exited:\n${distributor.output().slice(-4000)}`);
    const lines = [
      `${n} ingester(s), ${n} querier(s), RF ${RF}: ingest ${ing.spansPerSec.toFixed(0)} spans/s (ack p50 ${ing.p50.toFixed(1)} ms, p99 ${ing.p99.toFixed(1)} ms, ${ing.errors} refused${ing.why !== '' ? `: ${ing.why}` : ''})`,
    ];
    const perProc: string[] = [];
    for (const x of ingesters) {
      const b = (await metric(x, 'tempo_ingester_bytes_received_total')) - (bytes0.get(x.id) ?? 0);
      perProc.push(`${x.id} ~${(b / bytesPerSpan / elapsed).toFixed(0)} spans/s`);
    }
    for (const p of procs) {
      const used = cpuSeconds(p.proc.pid ?? 0) - (cpu0.get(p.id) ?? 0);
      perProc.push(`${p.id} cpu ${(used / elapsed).toFixed(2)} cores`);
    }
    lines.push(`  during ingest: ${perProc.join(', ')}`);
    const cpuS0 = new Map(procs.map((p) => [p.id, cpuSeconds(p.proc.pid ?? 0)]));
    const s0 = Date.now();
    const sr = await search(frontend);
    const sElapsed = (Date.now() - s0) / 1000;
    const qcpu = queriers.map((q) => `${q.id} cpu ${((cpuSeconds(q.proc.pid ?? 0) - (cpuS0.get(q.id) ?? 0)) / sElapsed).toFixed(2)} cores`);
    lines.push(
      `  search (${SEARCHES} queries, 4 at a time, over recent data): p50 ${sr.p50.toFixed(0)} ms, p99 ${sr.p99.toFixed(0)} ms, ${sr.failed} failed; ${qcpu.join(', ')}`,
    );
    if (FLUSH) {
      // Everything to the backend: searches then read stored blocks (and what the ingesters still hold).
      await Promise.all(ingesters.map(async (x) => (await fetch(`${x.url}/flush`, { method: 'POST' })).arrayBuffer()));
      const flushed = await Promise.all(ingesters.map((x) => metric(x, 'tempo_ingester_blocks_flushed_total')));
      const want = flushed.reduce((a, b) => a + b, 0);
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && (await metric(queriers[0]!, 'tempodb_blocklist_length')) < want) await new Promise((r) => setTimeout(r, 250));
      const blocks = await metric(queriers[0]!, 'tempodb_blocklist_length');
      const sb = await search(frontend);
      lines.push(`  search after a flush (${blocks} blocks + recent data): p50 ${sb.p50.toFixed(0)} ms, p99 ${sb.p99.toFixed(0)} ms, ${sb.failed} failed`);
    }
    const mr = await metricsQueries(frontend);
    lines.push(
      `  metrics query_range (${METRICS} queries, 2 at a time, 30 min at 15 s): p50 ${mr.p50.toFixed(0)} ms, p99 ${mr.p99.toFixed(0)} ms, ${mr.failed} failed`,
    );
    if (FLUSH && RF > 1) {
      // Until a compactor merges them, each ingester's replica block (level 0) is read span by span so
      // every span counts once; merged, the block is aggregated in SQL again. Measure both.
      const before = await metric(queriers[0]!, 'tempodb_blocklist_length');
      const compactor = await cluster.add('compactor', 'compactor');
      await compactor.waitReady();
      const c0 = Date.now();
      const deadline = c0 + 180_000;
      while (Date.now() < deadline && (await metric(queriers[0]!, 'tempodb_blocklist_length')) >= before) await new Promise((r) => setTimeout(r, 500));
      // The queriers' next block-list poll and tag warm-up see the merged block.
      await new Promise((r) => setTimeout(r, 2_000));
      const after = await metric(queriers[0]!, 'tempodb_blocklist_length');
      const mc = await metricsQueries(frontend);
      lines.push(
        `  after the compactor merged the replicas (${before} → ${after} blocks, ${((Date.now() - c0) / 1000).toFixed(0)} s): metrics p50 ${mc.p50.toFixed(0)} ms, p99 ${mc.p99.toFixed(0)} ms, ${mc.failed} failed`,
      );
    }
    return lines;
  } finally {
    await cluster.stopAll();
  }
}

async function main(): Promise<void> {
  const t = makeTemplate(SPANS_PER_REQUEST, 10);
  console.log(
    `bench:cluster — ${SECONDS}s of OTLP/gRPC at concurrency ${CONCURRENCY}, ${t.spans} spans/request (${(t.bytes.length / 1024).toFixed(0)} KiB), RF ${RF}; 2-core machine, every process on it`,
  );
  for (const n of SIZES) for (const l of await runSize(n, t)) console.log(l);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
