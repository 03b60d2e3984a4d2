import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { createLocalBackend } from '../backend/local.js';
import { BLOCK_FILES, blockPath } from '../block/meta.js';
import { listBlocks } from '../block/listing.js';
import { openBlock } from '../block/encoding.js';
import { syntheticTraces } from '../../test/support/synthetic-traces.js';
import type { TraceRecord } from '../model/trace-record.js';
import { writeBlock } from '../block/writer.js';
import { decodeExportRequest } from '../otlp/decode-request.js';
import { encodeTrace } from '../otlp/trace-encode.js';
import { compactionGroups, runCompaction, startCompactor } from './compactor.js';

const NOTHING = {
  blocksDeleted: 0,
  blocksCompacted: 0,
  blocksWritten: 0,
  incompleteDeleted: 0,
  compactedDeleted: 0,
  blocksRecovered: 0,
  blocksDamaged: 0,
  tenantsFailed: 0,
};

let root: string;
let backend: Backend;
const HOUR = 3_600_000;
const T2026 = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z in ns
const NOW = Number(T2026 / 1_000_000n) + 2 * HOUR;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rubato-compactor-test-'));
  backend = createLocalBackend(root);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

function spanCount(trace: Uint8Array): number {
  return decodeExportRequest(trace, 't').spans.length;
}

test('merges overlapping blocks of a window and dedupes a trace present in both', async () => {
  const a = syntheticTraces({ traces: 50, spansPerTrace: 3, seed: 1, startNs: T2026 });
  const b = syntheticTraces({ traces: 40, spansPerTrace: 3, seed: 2, startNs: T2026 });
  // One trace in both blocks: spans 0,1 in A and 1,2 in B (span 1 byte-identical in both).
  const shared = a[10]!;
  const entries = decodeExportRequest(shared.trace, 't').spans;
  const inA: TraceRecord = { traceId: shared.traceId, trace: encodeTrace([entries[0]!, entries[1]!]) };
  const inB: TraceRecord = { traceId: shared.traceId, trace: encodeTrace([entries[1]!, entries[2]!]) };
  const blockA = a.map((t) => (t.traceId === shared.traceId ? inA : t));
  const blockB = [...b, inB].sort((x, y) => (x.traceId < y.traceId ? -1 : 1));
  const ma = await writeBlock(backend, 'merge', blockA);
  const mb = await writeBlock(backend, 'merge', blockB);

  const res = await runCompaction(backend, { tenant: 'merge', retentionMs: 72 * HOUR, compactionWindowMs: HOUR, now: NOW });
  assert.deepEqual(res, { ...NOTHING, blocksCompacted: 2, blocksWritten: 1 });
  const blocks = await listBlocks(backend, 'merge');
  assert.equal(blocks.length, 1);
  const m = blocks[0]!;
  assert.equal(m.compactionLevel, 1);
  assert.equal(m.totalObjects, 90);
  assert.equal(m.totalSpans, 50 * 3 + 40 * 3);
  assert.ok(![ma.blockID, mb.blockID].includes(m.blockID));

  const reader = await openBlock(backend, m);
  const [merged] = await reader.findTrace(shared.traceId);
  assert.ok(merged !== undefined);
  assert.equal(spanCount(merged), 3);
  const want = new Set(entries.map((e) => Buffer.from(e.span).toString('hex')));
  const got = new Set(decodeExportRequest(merged, 't').spans.map((e) => Buffer.from(e.span).toString('hex')));
  assert.deepEqual(got, want);
  for (const t of [...a.slice(0, 5), ...b.slice(0, 5)]) assert.equal((await reader.findTrace(t.traceId)).length, 1);

  // A second pass has nothing to merge.
  const again = await runCompaction(backend, { tenant: 'merge', retentionMs: 72 * HOUR, compactionWindowMs: HOUR, now: NOW });
  assert.deepEqual(again, NOTHING);
});

test('retention takes old blocks out at once and deletes them after compacted_block_retention; blocks in different windows are not merged', async () => {
  const old = await writeBlock(backend, 'ret', syntheticTraces({ traces: 5, spansPerTrace: 2, seed: 3, startNs: T2026 - 100n * 3_600_000_000_000n }));
  const w1 = await writeBlock(backend, 'ret', syntheticTraces({ traces: 5, spansPerTrace: 2, seed: 4, startNs: T2026 }));
  const w2 = await writeBlock(backend, 'ret', syntheticTraces({ traces: 5, spansPerTrace: 2, seed: 5, startNs: T2026 + 3_600_000_000_000n }));
  const res = await runCompaction(backend, { retentionMs: 72 * HOUR, compactionWindowMs: HOUR, now: NOW });
  assert.equal(res.blocksDeleted, 1);
  assert.equal(res.blocksWritten, 0);
  const ids = (await listBlocks(backend, 'ret')).map((m) => m.blockID).sort();
  assert.deepEqual(ids, [w1.blockID, w2.blockID].sort());
  assert.ok(!ids.includes(old.blockID));
  // Still readable by searches that had it, for compacted_block_retention (default 1h).
  assert.ok((await backend.list(`ret/${old.blockID}`)).includes('data.parquet'));
  const later = await runCompaction(backend, { tenant: 'ret', retentionMs: 72 * HOUR, compactionWindowMs: HOUR, now: NOW + 2 * HOUR });
  assert.equal(later.compactedDeleted, 1);
  assert.deepEqual(await backend.list(`ret/${old.blockID}`), []);
});

test('incomplete block folders are removed after the timeout', async () => {
  const good = await writeBlock(backend, 'inc', syntheticTraces({ traces: 3, spansPerTrace: 1, seed: 6, startNs: T2026 }));
  const partial = '22222222-0000-4000-8000-000000000000';
  await backend.write(blockPath('inc', partial, BLOCK_FILES.data), Buffer.from('partial'));
  const opts = { tenant: 'inc', retentionMs: 72 * HOUR, compactionWindowMs: HOUR };
  const first = await runCompaction(backend, { ...opts, now: NOW });
  assert.equal(first.incompleteDeleted, 0);
  assert.deepEqual(await backend.list(blockPath('inc', partial)), [BLOCK_FILES.data]);
  const second = await runCompaction(backend, { ...opts, now: NOW + HOUR + 1 });
  assert.equal(second.incompleteDeleted, 1);
  assert.deepEqual(await backend.list('inc'), [good.blockID]);
});

test('compactionGroups caps inputs per merge and skips single blocks', () => {
  const mk = (id: string, end: string, size: number) => ({
    format: 'rubato-parquet1' as const,
    blockID: id,
    tenantID: 't',
    startTime: end,
    endTime: end,
    totalObjects: 1,
    totalSpans: 1,
    size,
    compactionLevel: 0,
    minID: '',
    maxID: '',
    totalRecords: 1,
    bloomBytes: 0,
    indexBytes: 0,
  });
  const blocks = [
    mk('a', '2026-01-01T00:10:00Z', 5),
    mk('b', '2026-01-01T00:20:00Z', 1),
    mk('c', '2026-01-01T00:30:00Z', 3),
    mk('d', '2026-01-01T01:10:00Z', 1),
  ];
  assert.deepEqual(
    compactionGroups(blocks, HOUR, 2).map((g) => g.map((b) => b.blockID)),
    [['b', 'c']],
  );
  assert.deepEqual(
    compactionGroups(blocks, HOUR, 8).map((g) => g.map((b) => b.blockID)),
    [['b', 'c', 'a']],
  );
});

test('startCompactor runs passes until stopped', async () => {
  let logged = 0;
  const handle = startCompactor(backend, {
    tenant: 'loop',
    retentionMs: HOUR,
    compactionWindowMs: HOUR,
    intervalMs: 5,
    logger: {
      info: () => undefined,
      warn: () => {
        logged++;
      },
      error: () => {
        logged++;
      },
    },
  });
  await new Promise((r) => setTimeout(r, 30));
  await handle.stop();
  assert.equal(logged, 0);
});

test('a damaged block is left out of merges and the pass goes on to retention and other tenants', async () => {
  const good = await writeBlock(backend, 'dmg-1', syntheticTraces({ traces: 20, spansPerTrace: 2, seed: 11, startNs: T2026 }));
  const bad = await writeBlock(backend, 'dmg-1', syntheticTraces({ traces: 20, spansPerTrace: 2, seed: 12, startNs: T2026 }));
  const dataFile = backend.localPath(blockPath('dmg-1', bad.blockID, BLOCK_FILES.data))!;
  await truncate(dataFile, Math.floor((await stat(dataFile)).size / 2));
  const expired = await writeBlock(backend, 'dmg-2', syntheticTraces({ traces: 5, spansPerTrace: 2, seed: 13, startNs: T2026 - 100n * 3_600_000_000_000n }));
  const errors: object[] = [];
  const logger = { info: () => undefined, warn: () => undefined, error: (o: object) => void errors.push(o) };

  const res = await runCompaction(backend, { retentionMs: 72 * HOUR, compactionWindowMs: HOUR, now: NOW, logger });
  assert.equal(res.blocksDamaged, 1);
  assert.equal(res.tenantsFailed, 0);
  assert.ok(!(await listBlocks(backend, 'dmg-2')).some((m) => m.blockID === expired.blockID), 'retention went on');
  assert.deepEqual((await listBlocks(backend, 'dmg-1')).map((m) => m.blockID).sort(), [good.blockID, bad.blockID].sort());
  // Reported once, not every pass.
  const again = await runCompaction(backend, { tenant: 'dmg-1', retentionMs: 72 * HOUR, compactionWindowMs: HOUR, now: NOW, logger });
  assert.equal(again.blocksDamaged, 0);
  assert.equal(errors.length, 1);
});

test('per-tenant block_retention and compaction_disabled', async () => {
  const a = await writeBlock(backend, 'own-1', syntheticTraces({ traces: 5, spansPerTrace: 2, seed: 21, startNs: T2026 }));
  const b = await writeBlock(backend, 'own-1', syntheticTraces({ traces: 5, spansPerTrace: 2, seed: 22, startNs: T2026 }));
  const c = await writeBlock(backend, 'own-2', syntheticTraces({ traces: 5, spansPerTrace: 2, seed: 23, startNs: T2026 }));
  const forTenant = (t: string) => (t === 'own-1' ? { retentionMs: 0, compactionDisabled: true } : { retentionMs: HOUR / 2, compactionDisabled: false });
  await runCompaction(backend, { tenant: 'own-1', retentionMs: 72 * HOUR, compactionWindowMs: HOUR, now: NOW, forTenant });
  // Not merged although they share a window.
  assert.deepEqual((await listBlocks(backend, 'own-1')).map((m) => m.blockID).sort(), [a.blockID, b.blockID].sort());
  await runCompaction(backend, { tenant: 'own-2', retentionMs: 72 * HOUR, compactionWindowMs: HOUR, now: NOW, forTenant });
  // Past this tenant's own half hour, though well within the global 72 h.
  assert.ok(!(await listBlocks(backend, 'own-2')).some((m) => m.blockID === c.blockID));
});
