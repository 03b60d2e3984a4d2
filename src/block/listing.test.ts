// A block listing (a poll, or a tenant index build) taken while a compaction pass ends must not lose
// the pass's data: the old blocks read as compacted, and the new block, missing from the listing
// taken before it was written, is found by listing again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { createLocalBackend } from '../backend/local.js';
import { syntheticTraces } from '../../test/support/synthetic-traces.js';
import { listBlocks, markCompacted } from './listing.js';
import { scanTenant } from './tenant-index.js';
import { writeBlock } from './writer.js';

test('a listing taken as a compaction pass ends still finds the merged block', async () => {
  const root = await mkdtemp(join(tmpdir(), 'rubato-listing-'));
  try {
    const backend = createLocalBackend(root);
    const traces = syntheticTraces({ traces: 20, spansPerTrace: 3, seed: 4 });
    const a = await writeBlock(backend, 't', traces.slice(0, 10));
    const b = await writeBlock(backend, 't', traces.slice(10));
    // The folder listing as it was before the pass wrote its block...
    const before = await backend.list('t');
    // ...then the pass: the merged block first, the old ones marked compacted after.
    const merged = await writeBlock(backend, 't', traces);
    await markCompacted(backend, a, Date.now());
    await markCompacted(backend, b, Date.now());
    let lists = 0;
    const racing: Backend = new Proxy(backend, {
      get(target, prop, receiver) {
        if (prop === 'list') return async (prefix: string) => (prefix === 't' && lists++ === 0 ? before : target.list(prefix));
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    assert.deepEqual(
      (await listBlocks(racing, 't')).map((m) => m.blockID),
      [merged.blockID],
    );
    lists = 0;
    const index = await scanTenant(racing, 't');
    assert.deepEqual(
      index.meta.map((m) => m.blockID),
      [merged.blockID],
    );
    assert.deepEqual(index.compacted.map((m) => m.blockID).sort(), [a.blockID, b.blockID].sort());
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
