import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Ingester } from './ingester.js';
import { createLocalBackend } from '../backend/local.js';
import { decodeExportRequest } from '../otlp/decode-request.js';
import { PushError } from '../model/pusher.js';
import { generateExportRequest } from '../../bench/lib/generate.js';
import type { BlockMeta } from '../block/meta.js';

test('when block building falls behind, pushes are refused as rate limited instead of piling up', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rubato-ingester-'));
  // A block builder that never finishes: every cut head block stays queued.
  const never = new Promise<BlockMeta>(() => undefined);
  const ingester = new Ingester({
    walDir: join(dir, 'wal'),
    backend: createLocalBackend(join(dir, 'traces')),
    traceIdlePeriodMs: 10_000,
    maxBlockDurationMs: 60_000,
    maxBlockBytes: 1 << 30,
    maxLiveBytes: 1 << 30,
    limits: () => ({ maxBytesPerTrace: 0, maxLiveTraces: 0 }),
    fsync: false,
    logger: pino({ level: 'silent' }),
    blockBuilder: () => never,
  });
  try {
    await ingester.start();
    let seed = 1;
    const push = () => ingester.push(decodeExportRequest(generateExportRequest({ traces: 2, spansPerTrace: 3, seed: seed++ }), 'single-tenant'));
    for (let i = 0; i < 4; i++) {
      await push();
      void ingester.flush(); // cuts the head block; its build never ends
    }
    await assert.rejects(push(), (err: unknown) => err instanceof PushError && err.kind === 'rate_limited' && /behind/.test(err.message));
    // What was accepted is still served from the queued head blocks.
    const [recent] = await ingester.blocks('single-tenant');
    assert.equal(
      (await recent!.findTrace(decodeExportRequest(generateExportRequest({ traces: 2, spansPerTrace: 3, seed: 1 }), 't').spans[0]!.traceId)).length,
      1,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
