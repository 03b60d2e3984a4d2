// The query frontend splits work (issue 12: "the query frontend splits searches and metrics queries
// by block and time and spreads them over queriers"): on a cluster on loopback (etcd, MinIO, one
// ingester, two queriers, a frontend), traces are written in rounds with a flush after each, so the
// backend holds several blocks and the ingester the last round. A search through the frontend then
// runs as one job per block plus one over recent data, and a metrics query_range as several time
// jobs; both answer exactly what one querier answers alone. No timing asserts: waits are bounded polls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, etcdBinary, waitFor, type Cluster, type ClusterNode } from '../support/cluster.js';
import { minioBinary } from '../support/minio.js';
import { byTrace, exportSpans, makeExporter, recordTraces } from '../support/otel-traces.js';

const peersMissing = etcdBinary() === null || minioBinary() === null;
const required = process.env['RUBATO_REQUIRE_CLUSTER'] === '1' || process.env['CI'] === 'true';
const skip = peersMissing && !required ? 'etcd or MinIO not installed (bash .ci/run installs both)' : false;

/** Sum of a metric's samples (every label set) on a node's /metrics, with an optional label filter. */
async function metricSum(node: ClusterNode, name: string, label = ''): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) if (line.includes(label)) sum += Number(line.split(' ').pop());
  return sum;
}

interface SearchAnswer {
  traces: { traceID: string; rootServiceName: string }[];
  metrics: { totalJobs?: number; completedJobs?: number; totalBlocks?: number };
}

async function search(node: ClusterNode, q: string, startS: number, endS: number): Promise<SearchAnswer> {
  const r = await fetch(`${node.url}/api/search?q=${encodeURIComponent(q)}&limit=1000&start=${startS}&end=${endS}`);
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()) as SearchAnswer;
}

interface RangeAnswer {
  series: { labels: unknown[]; samples: { timestampMs: string; value?: number | string }[] }[];
  metrics: { totalJobs?: number; completedJobs?: number };
}

async function queryRange(node: ClusterNode, q: string, startS: number, endS: number, step: string): Promise<RangeAnswer> {
  const r = await fetch(`${node.url}/api/metrics/query_range?q=${encodeURIComponent(q)}&start=${startS}&end=${endS}&step=${step}`);
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()) as RangeAnswer;
}

/** Series as sortable rows: labels, then every sample. */
const rows = (a: RangeAnswer): string[] => a.series.map((s) => JSON.stringify([s.labels, s.samples])).sort();

test('frontend: a search runs as jobs per block plus recent data, a metrics range as time jobs; answers equal one querier', {
  skip,
  timeout: 300_000,
}, async () => {
  let cluster: Cluster | null = null;
  try {
    cluster = await startCluster({
      replicationFactor: 1,
      // Blocks cut only when flushed below; flushed data stays in the ingester a little (complete_block_timeout).
      ingester: ['trace_idle_period: 1s', 'max_block_duration: 10m', 'complete_block_timeout: 3s'],
      topLevel: [
        'query_frontend:',
        '  search:',
        // One block per job, every block of the range read (none is too recent), the ingester asked too.
        '    target_bytes_per_job: 1',
        '    query_backend_after: 0s',
        '    query_ingesters_until: 1h',
        '    concurrent_jobs: 2',
        '  metrics:',
        '    interval: 1m',
      ],
    });
    const c = cluster;
    const log = (m: string): void => void process.stderr.write(`# ${new Date().toISOString()} ${m}\n`);
    const ingester = await c.add('ingester', 'ingester-1');
    await ingester.waitReady();
    const rest = await Promise.all([c.add('distributor', 'distributor-1'), c.add('querier', 'querier-1'), c.add('querier', 'querier-2')]);
    await Promise.all(rest.map((n) => n.waitReady()));
    const frontend = await c.add('query-frontend', 'frontend');
    await frontend.waitReady();
    log('cluster ready');
    const [distributor, querier] = [rest[0]!, rest[1]!];
    const exporter = makeExporter('grpc', { grpcPort: distributor.otlpGrpcPort, otlpHttpPort: 0 });
    const began = Math.floor(Date.now() / 1000) - 60;

    // Three flushed rounds (three blocks), and a fourth that stays in the ingester.
    const rounds = 4;
    for (let round = 0; round < rounds; round++) {
      for (const spans of byTrace(await recordTraces(8, `fj-${round}`))) assert.ok(await exportSpans(exporter, spans), 'push acknowledged');
      if (round < rounds - 1) {
        const r = await fetch(`${ingester.url}/flush`, { method: 'POST' });
        assert.equal(r.status, 204);
        const want = round + 1;
        await waitFor(`${want} blocks in the backend`, async () => (await metricSum(ingester, 'tempo_ingester_blocks_flushed_total')) >= want);
      }
    }
    await exporter.shutdown();
    // Both the frontend's and the queriers' block lists hold the three blocks.
    for (const n of [frontend, ...rest.slice(1)]) {
      await waitFor(`${n.id} sees 3 blocks`, async () => (await metricSum(n, 'tempodb_blocklist_length')) >= 3);
    }
    // Past complete_block_timeout: the ingester answers for the unflushed round only, so the answers hold still.
    await new Promise((r) => setTimeout(r, 4_000));
    const end = Math.ceil(Date.now() / 1000) + 60;
    log('data written: 3 blocks and recent data');

    const q = '{ resource.service.name =~ "fj-.*" }';
    const jobs0 = await metricSum(frontend, 'rubato_frontend_jobs_total', 'op="search"');
    const viaFrontend = await search(frontend, q, began, end);
    const jobs1 = await metricSum(frontend, 'rubato_frontend_jobs_total', 'op="search"');
    const direct = await search(querier, q, began, end);
    const ids = (a: SearchAnswer): string[] => a.traces.map((t) => t.traceID).sort();
    assert.equal(direct.traces.length, rounds * 8, 'the querier alone finds every trace');
    assert.deepEqual(ids(viaFrontend), ids(direct), 'the frontend finds exactly the traces one querier finds');
    assert.equal(new Set(ids(viaFrontend)).size, viaFrontend.traces.length, 'no trace twice');
    // One job per block (target_bytes_per_job 1) plus one for recent data.
    assert.equal(viaFrontend.metrics.totalJobs, 4, JSON.stringify(viaFrontend.metrics));
    assert.equal(viaFrontend.metrics.completedJobs, 4);
    assert.equal(jobs1 - jobs0, 4, 'the frontend counted the jobs queriers answered');
    log('search checked');

    // Metrics: 10 minutes at a 10 s step in jobs of 1 minute.
    const mq = '{ resource.service.name =~ "fj-.*" } | count_over_time() by (resource.service.name)';
    const mEnd = Math.ceil(Date.now() / 1000);
    const mStart = mEnd - 600;
    const m0 = await metricSum(frontend, 'rubato_frontend_jobs_total', 'op="metrics"');
    const mFrontend = await queryRange(frontend, mq, mStart, mEnd, '10s');
    const m1 = await metricSum(frontend, 'rubato_frontend_jobs_total', 'op="metrics"');
    const mDirect = await queryRange(querier, mq, mStart, mEnd, '10s');
    assert.equal(mDirect.series.length, rounds, 'one series per round');
    assert.deepEqual(rows(mFrontend), rows(mDirect), 'the same series and samples as one querier');
    assert.ok((mFrontend.metrics.totalJobs ?? 0) >= 10, `split into time jobs: ${JSON.stringify(mFrontend.metrics)}`);
    assert.equal(m1 - m0, mFrontend.metrics.totalJobs);
    // A query that ranks series across the range is one job, and still the querier's answer.
    const top = '{ resource.service.name =~ "fj-.*" } | count_over_time() by (resource.service.name) | topk(2)';
    const tFrontend = await queryRange(frontend, top, mStart, mEnd, '10s');
    assert.equal(tFrontend.metrics.totalJobs, 1);
    assert.deepEqual(rows(tFrontend), rows(await queryRange(querier, top, mStart, mEnd, '10s')));
    log('metrics checked');

    // Requests the frontend does not split still answer through it: tags, tag values, a bad query.
    const tags = await fetch(`${frontend.url}/api/v2/search/tag/resource.service.name/values`);
    assert.equal(tags.status, 200);
    const values = ((await tags.json()) as { tagValues: { value: string }[] }).tagValues.map((v) => v.value);
    for (let round = 0; round < rounds; round++) assert.ok(values.includes(`fj-${round}`), `fj-${round} among ${values.join(',')}`);
    const bad = await fetch(`${frontend.url}/api/search?q=${encodeURIComponent('{ .a = }')}`);
    assert.equal(bad.status, 400);
    const trace = await fetch(`${frontend.url}/api/traces/${viaFrontend.traces[0]!.traceID}`);
    assert.equal(trace.status, 200);
    // The internal endpoint refuses a job that does not hold together.
    const job = await fetch(`${querier.url}/querier/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"limit":0}' });
    assert.equal(job.status, 400);
    assert.match(await job.text(), /search job/);
  } catch (err) {
    if (cluster !== null) for (const n of cluster.nodes) process.stderr.write(`--- ${n.id} ---\n${n.output().slice(-3000)}\n`);
    throw err;
  } finally {
    await cluster?.stopAll();
  }
});
