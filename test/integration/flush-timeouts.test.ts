// A block build that hangs is ended after ingester.flush_op_timeout and retried, and a shutdown that
// hangs ends after server.graceful_shutdown_timeout: either way the WAL keeps the data for the next start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRubato } from '../support/rubato-process.js';
import { byTrace, exportSpans, makeExporter, recordTraces } from '../support/otel-traces.js';
import { assertTraceComplete } from '../support/fetch-trace.js';

test('builds past flush_op_timeout are retried; a stop past graceful_shutdown_timeout exits and loses nothing', async () => {
  let rubato = await startRubato({
    ingester: ['trace_idle_period: 1h', 'flush_op_timeout: 1ms'],
    server: ['graceful_shutdown_timeout: 2s'],
  });
  try {
    await rubato.waitReady();
    const exporter = makeExporter('grpc', rubato);
    const [spans] = byTrace(await recordTraces(1, 'flush-timeout'));
    assert.ok(await exportSpans(exporter, spans!));
    await exporter.shutdown();
    // The flush cannot finish (every build is cut off); do not wait for it.
    void fetch(`${rubato.url}/flush`, { method: 'POST' }).catch(() => undefined);
    const deadline = Date.now() + 60_000;
    while (!/flush_op_timeout/.test(rubato.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.match(rubato.output(), /flush_op_timeout/);
    await assertTraceComplete(rubato, spans!);
    assert.equal(await rubato.stop(), 1);
    assert.match(rubato.output(), /graceful_shutdown_timeout/);
    rubato = await startRubato({ dataDir: rubato.dataDir });
    await rubato.waitReady();
    await assertTraceComplete(rubato, spans!);
  } finally {
    await rubato.kill();
    rubato.cleanup();
  }
});
