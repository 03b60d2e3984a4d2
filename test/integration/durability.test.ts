import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { listBlocks } from '../../src/block/listing.js';
import { startRubato } from '../support/rubato-process.js';
import { byTrace, exportSpans, makeExporter, recordTraces } from '../support/otel-traces.js';
import { assertTraceComplete } from '../support/fetch-trace.js';

test('kill -9 while clients send: every acknowledged trace is complete after restart', async () => {
  let rubato = await startRubato({ ingester: ['trace_idle_period: 1s', 'max_block_duration: 2s'] });
  try {
    await rubato.waitReady();
    const traces = byTrace(await recordTraces(400, 'crash-test'));
    const acked: ReadableSpan[][] = [];
    let next = 0;
    let killed = false;
    // Four concurrent senders, each with its own exporter, one trace per export.
    const sender = async () => {
      const exporter = new GrpcExporter({ url: `http://127.0.0.1:${rubato.grpcPort}`, timeoutMillis: 2000 });
      while (next < traces.length && !killed) {
        const t = traces[next++]!;
        if (await exportSpans(exporter, t)) acked.push(t);
      }
      await exporter.shutdown().catch(() => undefined);
    };
    const killer = (async () => {
      while (acked.length < 150) await new Promise((r) => setTimeout(r, 5));
      await rubato.kill();
      killed = true;
    })();
    await Promise.all([sender(), sender(), sender(), sender(), killer]);
    assert.ok(acked.length >= 150, `acknowledged ${acked.length}`);

    rubato = await startRubato({ dataDir: rubato.dataDir });
    await rubato.waitReady();
    for (const t of acked) await assertTraceComplete(rubato, t);
  } finally {
    await rubato.kill();
    rubato.cleanup();
  }
});

test('a torn WAL tail is cut off with a warning and nothing before it is lost', async () => {
  let rubato = await startRubato();
  try {
    await rubato.waitReady();
    const exporter = makeExporter('grpc', rubato);
    const traces = byTrace(await recordTraces(20, 'torn-tail'));
    for (const t of traces) assert.ok(await exportSpans(exporter, t));
    await exporter.shutdown();
    await rubato.kill();

    const segDir = join(rubato.dataDir, 'wal', 'segments');
    const last = readdirSync(segDir)
      .filter((f) => f.endsWith('.wal'))
      .sort()
      .at(-1);
    assert.ok(last, 'a WAL segment exists');
    // Half a record: a plausible header and a few bytes of payload, as a crash mid-write leaves it.
    appendFileSync(join(segDir, last), Buffer.from([0xb7, 0x01, 0x0d, 0x00, 0xff, 0x00, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7]));

    rubato = await startRubato({ dataDir: rubato.dataDir });
    await rubato.waitReady();
    for (const t of traces) await assertTraceComplete(rubato, t);
    assert.match(rubato.output(), /trunc|torn|corrupt/i);
  } finally {
    await rubato.kill();
    rubato.cleanup();
  }
});

test('by default (flush_all_on_shutdown: true), SIGTERM flushes live traces to a block and exits 0; the WAL is emptied', async () => {
  let rubato = await startRubato({ ingester: ['trace_idle_period: 1h'] });
  try {
    await rubato.waitReady();
    const exporter = makeExporter('http-proto', rubato);
    const traces = byTrace(await recordTraces(5, 'sigterm'));
    for (const t of traces) assert.ok(await exportSpans(exporter, t));
    await exporter.shutdown();
    assert.equal(await rubato.stop(), 0, rubato.output());
    const blocks = await rubato.storage.list('single-tenant');
    assert.ok(blocks.length >= 1, 'a block was written');
    const segs = readdirSync(join(rubato.dataDir, 'wal', 'segments')).filter((f) => f.endsWith('.wal'));
    assert.ok(segs.length <= 1, `WAL segments left: ${segs.join(',')}`);
    rubato = await startRubato({ dataDir: rubato.dataDir });
    await rubato.waitReady();
    for (const t of traces) await assertTraceComplete(rubato, t);
  } finally {
    await rubato.kill();
    rubato.cleanup();
  }
});

test('with flush_all_on_shutdown: false, SIGTERM exits 0 at once and keeps the WAL, which the next start replays', async () => {
  let rubato = await startRubato({ ingester: ['trace_idle_period: 1h', 'flush_all_on_shutdown: false'] });
  try {
    await rubato.waitReady();
    const exporter = makeExporter('http-proto', rubato);
    const traces = byTrace(await recordTraces(5, 'sigterm-keep'));
    for (const t of traces) assert.ok(await exportSpans(exporter, t));
    await exporter.shutdown();
    assert.equal(await rubato.stop(), 0, rubato.output());
    assert.deepEqual(await listBlocks(rubato.storage, 'single-tenant'), [], 'no block was written');
    const segs = readdirSync(join(rubato.dataDir, 'wal', 'segments')).filter((f) => f.endsWith('.wal'));
    assert.ok(segs.length >= 1, 'the WAL is kept');
    rubato = await startRubato({ dataDir: rubato.dataDir });
    await rubato.waitReady();
    for (const t of traces) await assertTraceComplete(rubato, t);
  } finally {
    await rubato.kill();
    rubato.cleanup();
  }
});
