/**
 * Block-list polling benchmark: what one poll of every tenant's block list costs a querier (or
 * frontend) in backend requests and time, listing every tenant's folder and reading each meta.json
 * versus reading each tenant's index.json.gz, and what one index build costs the compactor that
 * writes them. TENANTS × BLOCKS metas are written (polling reads metas only, never block data), on
 * the local backend and on MinIO when it is installed (started here, as the tests do).
 *
 * Env: TENANTS (20), BLOCKS (200 per tenant), POLLS (3, the median is printed).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import type { Backend } from '../../src/backend/backend.js';
import { createLocalBackend } from '../../src/backend/local.js';
import { createS3Backend } from '../../src/backend/s3.js';
import { BLOCK_FILES, BLOCK_FORMAT, blockPath, serializeBlockMeta, type BlockMeta } from '../../src/block/meta.js';
import { buildTenantIndexes } from '../../src/compactor/tenant-index-builder.js';
import { Blocklist } from '../../src/querier/blocklist.js';
import { countingBackend, type CountingBackend } from '../../test/support/counting-backend.js';
import { createBucket, minioBinary, minioEndpoint, minioOptions } from '../../test/support/minio.js';

const env = (k: string, d: number): number => (process.env[k] !== undefined ? Number(process.env[k]) : d);
const TENANTS = env('TENANTS', 20);
const BLOCKS = env('BLOCKS', 200);
const POLLS = env('POLLS', 3);
const silent = pino({ level: 'silent' });

function meta(tenant: string, i: number): BlockMeta {
  const t = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
  return {
    format: BLOCK_FORMAT,
    blockID: randomUUID(),
    tenantID: tenant,
    startTime: t,
    endTime: t,
    totalObjects: 1000,
    totalSpans: 10_000,
    size: 1_000_000,
    compactionLevel: 0,
    minID: '0'.repeat(32),
    maxID: 'f'.repeat(32),
    totalRecords: 1,
    bloomBytes: 1000,
    indexBytes: 1000,
  };
}

/** Writes the metas, 64 at a time. */
async function populate(backend: Backend): Promise<void> {
  const jobs: (() => Promise<void>)[] = [];
  for (let t = 0; t < TENANTS; t++) {
    for (let b = 0; b < BLOCKS; b++) {
      const m = meta(`tenant-${t}`, b);
      jobs.push(() => backend.write(blockPath(m.tenantID, m.blockID, BLOCK_FILES.meta), serializeBlockMeta(m)));
    }
  }
  for (let i = 0; i < jobs.length; i += 64) await Promise.all(jobs.slice(i, i + 64).map((j) => j()));
}

interface Row {
  readonly backend: string;
  readonly what: string;
  readonly requests: string;
  readonly perPoll: number;
  readonly ms: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const describe = (b: CountingBackend): string =>
  Object.entries(b.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(' + ');

async function measurePolls(name: string, what: string, b: CountingBackend, indexed: boolean): Promise<Row> {
  const list = new Blocklist(b, silent, { enabled: indexed, staleMs: 0, fallback: true });
  const times: number[] = [];
  let requests = '';
  let perPoll = 0;
  for (let i = 0; i < POLLS; i++) {
    b.reset();
    const t0 = performance.now();
    await list.poll();
    times.push(performance.now() - t0);
    requests = describe(b);
    perPoll = b.total();
  }
  const seen = Array.from({ length: TENANTS }, (_, t) => list.metas(`tenant-${t}`).length).reduce((a, c) => a + c, 0);
  if (seen !== TENANTS * BLOCKS) throw new Error(`${what}: saw ${seen} blocks, expected ${TENANTS * BLOCKS}`);
  return { backend: name, what, requests, perPoll, ms: median(times) };
}

async function run(name: string, inner: Backend): Promise<Row[]> {
  const b = countingBackend(inner);
  const t0 = performance.now();
  await populate(b);
  process.stderr.write(`# ${name}: ${TENANTS * BLOCKS} metas written in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  const rows: Row[] = [];
  rows.push(await measurePolls(name, 'poll, listing (no index)', b, false));
  const builds: number[] = [];
  let requests = '';
  let perBuild = 0;
  for (let i = 0; i < POLLS; i++) {
    b.reset();
    const s = performance.now();
    await buildTenantIndexes(b, silent);
    builds.push(performance.now() - s);
    requests = describe(b);
    perBuild = b.total();
  }
  rows.push({ backend: name, what: 'index build (compactor, per build)', requests, perPoll: perBuild, ms: median(builds) });
  rows.push(await measurePolls(name, 'poll, reading index.json.gz', b, true));
  return rows;
}

async function main(): Promise<void> {
  process.stderr.write(`# block-list polling: ${TENANTS} tenants × ${BLOCKS} blocks, median of ${POLLS} polls\n`);
  const rows: Row[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'rubato-bench-blocklist-'));
  try {
    rows.push(...(await run('local', createLocalBackend(dir))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  if (minioBinary() !== null) {
    const endpoint = await minioEndpoint();
    const bucket = `bench-blocklist-${Date.now()}`;
    await createBucket(endpoint, bucket);
    rows.push(...(await run('minio', createS3Backend(minioOptions(endpoint, bucket)))));
  } else {
    process.stderr.write('# MinIO not installed (.ci/run installs it): S3 rows skipped\n');
  }
  console.log('| backend | what | requests | requests/poll | ms (median) |');
  console.log('|---|---|---|---:|---:|');
  for (const r of rows) console.log(`| ${r.backend} | ${r.what} | ${r.requests} | ${r.perPoll} | ${r.ms.toFixed(1)} |`);
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
