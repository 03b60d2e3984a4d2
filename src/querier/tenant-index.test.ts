// The per-tenant block index end to end on the local backend: the compactor's builder writes
// `<tenant>/index.json.gz`, the block-list poller reads it (one GET per tenant instead of a listing),
// and falls back to listing when the index is missing, stale or corrupt — logged and counted, never
// a crash. Metas are written by hand: polling reads metas only, never block data.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import pino, { type Logger } from 'pino';
import { createLocalBackend } from '../backend/local.js';
import { listBlocks, listIncompleteBlocks, markCompacted } from '../block/listing.js';
import { BLOCK_FORMAT, BLOCK_FILES, blockPath, serializeBlockMeta, type BlockMeta } from '../block/meta.js';
import { encodeTenantIndex, readTenantIndex, scanTenant, tenantIndexPath, writeTenantIndex } from '../block/tenant-index.js';
import { startCompactor } from '../compactor/compactor.js';
import { buildTenantIndexes, tenantIndexBuilderOf } from '../compactor/tenant-index-builder.js';
import { loadConfig } from '../config/load.js';
import { registry } from '../metrics/registry.js';
import { countingBackend, type CountingBackend } from '../../test/support/counting-backend.js';
import { Blocklist, tenantIndexPollingOf, type TenantIndexPolling } from './blocklist.js';

let root: string;
let backend: CountingBackend;
const silent = pino({ level: 'silent' });

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rubato-tenant-index-'));
  backend = countingBackend(createLocalBackend(root));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let minute = 0;
async function addMeta(tenant: string): Promise<BlockMeta> {
  const start = new Date(Date.UTC(2026, 0, 1, 0, minute++)).toISOString();
  const meta: BlockMeta = {
    format: BLOCK_FORMAT,
    blockID: randomUUID(),
    tenantID: tenant,
    startTime: start,
    endTime: start,
    totalObjects: 1,
    totalSpans: 1,
    size: 10,
    compactionLevel: 0,
    minID: '0'.repeat(32),
    maxID: 'f'.repeat(32),
    totalRecords: 1,
    bloomBytes: 0,
    indexBytes: 0,
  };
  await backend.write(blockPath(tenant, meta.blockID, BLOCK_FILES.meta), serializeBlockMeta(meta));
  return meta;
}

const ids = (metas: readonly BlockMeta[]): string[] => metas.map((m) => m.blockID).sort();

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }), lines };
}

async function metric(name: string): Promise<string> {
  return registry.getSingleMetricAsString(name);
}

const polling = (p: Partial<TenantIndexPolling> = {}): TenantIndexPolling => ({ enabled: true, staleMs: 0, fallback: true, ...p });

test('the builder writes index.json.gz: gzipped JSON with created_at, meta and compacted (Tempo field names)', async () => {
  const live = [await addMeta('build'), await addMeta('build')];
  const gone = await addMeta('build');
  await markCompacted(backend, gone, Date.now());
  const before = Date.now();
  const r = await buildTenantIndexes(backend, silent);
  assert.ok(r.tenants >= 1);
  assert.equal(r.failed, 0);
  const raw = JSON.parse(gunzipSync(await readFile(join(root, 'build', 'index.json.gz'))).toString('utf8')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(raw).sort(), ['compacted', 'created_at', 'meta']);
  assert.ok(Date.parse(String(raw['created_at'])) >= before - 1000);
  assert.deepEqual(ids(raw['meta'] as BlockMeta[]), ids(live));
  const compacted = raw['compacted'] as (BlockMeta & { compactedTime: string })[];
  assert.deepEqual(
    compacted.map((c) => c.blockID),
    [gone.blockID],
  );
  assert.equal(typeof compacted[0]?.compactedTime, 'string');
  // The index file is neither a block nor an incomplete block to the compactor's listings.
  assert.deepEqual(ids(await listBlocks(backend, 'build')), ids(live));
  assert.deepEqual(await listIncompleteBlocks(backend, 'build'), []);
  const again = await readTenantIndex(backend, 'build');
  assert.deepEqual(ids(again?.meta ?? []), ids(live));
});

test('a poller reads the index (one GET per tenant, no listing of block folders); a new block appears after the next build', async () => {
  const first = [await addMeta('poll'), await addMeta('poll'), await addMeta('poll')];
  await buildTenantIndexes(backend, silent);
  const bl = new Blocklist(backend, silent, polling());
  backend.reset();
  await bl.poll();
  assert.deepEqual(ids(bl.metas('poll')), ids(first));
  const tenants = (await backend.list('')).length;
  assert.deepEqual({ list: backend.counts.list, read: backend.counts.read }, { list: 2, read: tenants }, 'one LIST of the root, one GET per tenant');

  // Written after the build: not seen until the index is built again (no staleness limit set).
  const late = await addMeta('poll');
  await bl.poll();
  assert.ok(!ids(bl.metas('poll')).includes(late.blockID));
  await buildTenantIndexes(backend, silent);
  await bl.poll();
  assert.deepEqual(ids(bl.metas('poll')), ids([...first, late]));
});

test('a missing index: the poller lists the tenant (blocklist_poll_fallback)', async () => {
  const metas = [await addMeta('noindex'), await addMeta('noindex')];
  await backend.delete(tenantIndexPath('noindex'));
  const bl = new Blocklist(backend, silent, polling());
  await bl.poll();
  assert.deepEqual(ids(bl.metas('noindex')), ids(metas));
  assert.match(await metric('tempodb_blocklist_tenant_index_errors_total'), /tenant="noindex",reason="missing"\} [1-9]/);
});

test('a stale index (older than blocklist_poll_stale_tenant_index): the poller lists the tenant', async () => {
  const indexed = await addMeta('stale');
  const old = await scanTenant(backend, 'stale', new Date(Date.now() - 3_600_000));
  await writeTenantIndex(backend, 'stale', old);
  const unindexed = await addMeta('stale');
  const { logger, lines } = capture();
  const bl = new Blocklist(backend, logger, polling({ staleMs: 60_000 }));
  await bl.poll();
  assert.deepEqual(ids(bl.metas('stale')), ids([indexed, unindexed]));
  assert.ok(lines.some((l) => l.includes('tenant index is stale')));
  assert.match(await metric('tempodb_blocklist_tenant_index_errors_total'), /tenant="stale",reason="stale"\} [1-9]/);
  // Without a staleness limit the same index is used as it is.
  const lenient = new Blocklist(backend, silent, polling());
  await lenient.poll();
  assert.deepEqual(ids(lenient.metas('stale')), [indexed.blockID]);
});

test('a corrupt index: listing instead, with a log line and a metric, never a crash', async () => {
  const metas = [await addMeta('corrupt'), await addMeta('corrupt')];
  const { logger, lines } = capture();
  const bl = new Blocklist(backend, logger, polling());
  for (const garbage of [Buffer.from('not gzip at all'), encodeTenantIndex({ createdAt: new Date(), meta: [], compacted: [] }).subarray(0, 12)]) {
    await writeFile(join(root, 'corrupt', 'index.json.gz'), garbage);
    await bl.poll();
    assert.deepEqual(ids(bl.metas('corrupt')), ids(metas));
  }
  // Valid gzip, but not an index.
  await backend.write(tenantIndexPath('corrupt'), (await import('node:zlib')).gzipSync('{"meta": "nope"}'));
  await bl.poll();
  assert.deepEqual(ids(bl.metas('corrupt')), ids(metas));
  assert.equal(lines.filter((l) => l.includes('tenant index is unreadable')).length, 3);
  assert.match(await metric('tempodb_blocklist_tenant_index_errors_total'), /tenant="corrupt",reason="corrupt"\} 3/);
});

test('fallback off: an unusable index keeps the previous list (counted), never throws', async () => {
  const metas = [await addMeta('nofallback')];
  await buildTenantIndexes(backend, silent);
  const { logger, lines } = capture();
  const bl = new Blocklist(backend, logger, polling({ fallback: false }));
  await bl.poll();
  assert.deepEqual(ids(bl.metas('nofallback')), ids(metas));
  await addMeta('nofallback');
  await writeFile(join(root, 'nofallback', 'index.json.gz'), 'garbage');
  await bl.poll();
  assert.deepEqual(ids(bl.metas('nofallback')), ids(metas), 'the previous list stays');
  assert.ok(lines.some((l) => l.includes('blocklist_poll_fallback is off')));
  assert.match(await metric('tempodb_blocklist_poll_errors_total'), /tenant="nofallback"\} [1-9]/);
});

test('a block this process added stays through polls of an older index, until an index has it', async () => {
  await addMeta('added');
  await buildTenantIndexes(backend, silent);
  const bl = new Blocklist(backend, silent, polling());
  await bl.poll();
  const flushed = await addMeta('added');
  bl.add('added', flushed);
  await bl.poll();
  assert.ok(ids(bl.metas('added')).includes(flushed.blockID), 'kept: the index predates the flush');
  await buildTenantIndexes(backend, silent);
  await bl.poll();
  assert.ok(ids(bl.metas('added')).includes(flushed.blockID), 'now from the index');
  // Compacted away later: a newer index drops it.
  await markCompacted(backend, flushed, Date.now());
  await new Promise((r) => setTimeout(r, 5));
  await buildTenantIndexes(backend, silent);
  await bl.poll();
  assert.ok(!ids(bl.metas('added')).includes(flushed.blockID));
});

test('config: the three blocklist_poll_* keys drive the poller and the builder', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rubato-tenant-index-cfg-'));
  try {
    const file = join(dir, 'c.yaml');
    await writeFile(
      file,
      'storage:\n  trace:\n    blocklist_poll: 10s\n    blocklist_poll_fallback: false\n    blocklist_poll_tenant_index_builders: 0\n    blocklist_poll_stale_tenant_index: 15m\n',
    );
    const { config } = loadConfig([`-config.file=${file}`], {});
    assert.deepEqual(tenantIndexPollingOf(config), { enabled: false, staleMs: 900_000, fallback: false });
    assert.equal(tenantIndexBuilderOf(config), null);
    const defaults = loadConfig([], {}).config;
    assert.deepEqual(tenantIndexPollingOf(defaults), { enabled: true, staleMs: 0, fallback: true });
    assert.deepEqual(tenantIndexBuilderOf(defaults), { intervalMs: 30_000 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  // Index off: pollers list and never ask for index.json.gz.
  await addMeta('off');
  await buildTenantIndexes(backend, silent);
  const paths: string[] = [];
  const spy = {
    ...backend,
    read: (p: string) => {
      paths.push(p);
      return backend.read(p);
    },
  };
  const bl = new Blocklist(spy, silent, polling({ enabled: false }));
  await bl.poll();
  assert.ok(!paths.some((p) => p.endsWith('index.json.gz')));
  assert.equal(bl.metas('off').length, 1);
});

test('the compactor builds the index on its timer; not when another compactor holds the index lock', async () => {
  const root2 = await mkdtemp(join(tmpdir(), 'rubato-tenant-index-compactor-'));
  try {
    const b2 = createLocalBackend(root2);
    const meta = { ...(await addMeta('x')), tenantID: 'loop' };
    await b2.write(blockPath('loop', meta.blockID, BLOCK_FILES.meta), serializeBlockMeta(meta));
    const base = { retentionMs: 1e12, compactionWindowMs: 3_600_000, intervalMs: 3_600_000 };
    const elsewhere = startCompactor(b2, { ...base, tenantIndex: { intervalMs: 20 }, indexExclusive: async () => null });
    await new Promise((r) => setTimeout(r, 100));
    await elsewhere.stop();
    assert.equal(await readTenantIndex(b2, 'loop'), null, 'left to the lock holder');
    const c = startCompactor(b2, { ...base, tenantIndex: { intervalMs: 20 } });
    const deadline = Date.now() + 10_000;
    while ((await readTenantIndex(b2, 'loop')) === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await c.stop();
    assert.deepEqual(ids((await readTenantIndex(b2, 'loop'))?.meta ?? []), [meta.blockID]);
  } finally {
    await rm(root2, { recursive: true, force: true });
  }
});

test('a tenant with no blocks left keeps no index: its folder empties', async () => {
  const m = await addMeta('emptied');
  await buildTenantIndexes(backend, silent);
  assert.notEqual(await readTenantIndex(backend, 'emptied'), null);
  await backend.delete(blockPath('emptied', m.blockID));
  await buildTenantIndexes(backend, silent);
  assert.equal(await readTenantIndex(backend, 'emptied'), null);
  assert.deepEqual(await backend.list('emptied'), []);
});
