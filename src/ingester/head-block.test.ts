import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadBlock } from './head-block.js';
import { RecentBlock } from './recent-block.js';

test('a head block discarded under a running query reads as empty instead of failing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rubato-head-'));
  try {
    const head = new HeadBlock(dir, 't', 1, Date.now());
    const id = 'ab'.repeat(16);
    head.appendMany([{ traceId: id, trace: new Uint8Array([10, 0]), startNs: 1, endNs: 2 }], 1);
    const recent = new RecentBlock('t', [head]);
    assert.equal((await recent.findTrace(id)).length, 1);
    // The block was written to the backend meanwhile.
    head.discard();
    assert.deepEqual(await recent.findTrace(id), []);
    const seen: string[] = [];
    for await (const rec of recent.traces()) seen.push(rec.traceId);
    assert.deepEqual(seen, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
