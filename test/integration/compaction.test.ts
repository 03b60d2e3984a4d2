import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listBlocks } from '../../src/block/listing.js';
import { startRubato } from '../support/rubato-process.js';
import { byTrace, exportSpans, makeExporter, recordTraces } from '../support/otel-traces.js';
import { assertTraceComplete } from '../support/fetch-trace.js';

// Blocks are looked at through the server's own storage, so this runs the same on local disk and on S3.
async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('a trace split over two blocks is whole when read, and the compactor merges the blocks without duplicates', async () => {
  const rubato = await startRubato({
    extraYaml: ['compactor:', '  compaction:', '    compaction_cycle: 1s', '    compaction_window: 1h'].join('\n'),
  });
  try {
    await rubato.waitReady();
    const exporter = makeExporter('grpc', rubato);
    const [trace] = byTrace(await recordTraces(1, 'compaction'));
    const spans = trace!;
    const half = Math.ceil(spans.length / 2);
    // First half, flush, second half plus one span again (a client retry), flush: two blocks.
    assert.ok(await exportSpans(exporter, spans.slice(0, half)));
    await fetch(`${rubato.url}/flush`, { method: 'POST' });
    assert.ok(await exportSpans(exporter, [...spans.slice(half), spans[0]!]));
    await fetch(`${rubato.url}/flush`, { method: 'POST' });
    await exporter.shutdown();
    await assertTraceComplete(rubato, spans);

    await until('the compactor to merge two blocks into one', async () => (await listBlocks(rubato.storage, 'single-tenant')).length === 1);
    await assertTraceComplete(rubato, spans);
  } finally {
    await rubato.stop();
    rubato.cleanup();
  }
});

test('blocks past block_retention leave queries after the compactor pass and the disk after compacted_block_retention', async () => {
  const rubato = await startRubato({
    extraYaml: ['compactor:', '  compaction:', '    compaction_cycle: 1s', '    block_retention: 1s', '    compacted_block_retention: 2s'].join('\n'),
  });
  try {
    await rubato.waitReady();
    const exporter = makeExporter('grpc', rubato);
    const [spans] = byTrace(await recordTraces(1, 'retention'));
    assert.ok(await exportSpans(exporter, spans!));
    await exporter.shutdown();
    await fetch(`${rubato.url}/flush`, { method: 'POST' });
    await until('a block to be flushed', async () => (await rubato.storage.list('single-tenant')).some((b) => !b.startsWith('.')));
    await until('retention to delete the block', async () => (await listBlocks(rubato.storage, 'single-tenant')).length === 0);
    const id = spans![0]!.spanContext().traceId;
    // The querier drops it once the compactor's pass is over and the block list re-read.
    await until('queries to stop finding the trace', async () => (await fetch(`${rubato.url}/api/traces/${id}`)).status === 404);
    await until('the compacted block to be deleted', async () => (await rubato.storage.list('single-tenant')).filter((b) => !b.startsWith('.')).length === 0);
  } finally {
    await rubato.stop();
    rubato.cleanup();
  }
});
