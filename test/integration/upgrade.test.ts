// Replacing the installed files under a running server (an upgrade in place) must not break it: the
// block builder loads its code once, at start, instead of at every flush. The server runs from a copy
// of dist/ here, so the test can delete files without touching the other tests' server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listBlocks } from '../../src/block/listing.js';
import { projectRoot, startRubato } from '../support/rubato-process.js';
import { byTrace, exportSpans, makeExporter, recordTraces } from '../support/otel-traces.js';

test('flushes keep working after the installed block code is deleted under the running server', async () => {
  const install = mkdtempSync(join(tmpdir(), 'rubato-install-'));
  cpSync(join(projectRoot, 'dist', 'src'), join(install, 'dist', 'src'), { recursive: true });
  cpSync(join(projectRoot, 'package.json'), join(install, 'package.json'));
  symlinkSync(join(projectRoot, 'node_modules'), join(install, 'node_modules'), 'dir');
  const rubato = await startRubato({ mainJs: join(install, 'dist', 'src', 'main.js') });
  try {
    await rubato.waitReady();
    const blocks = async (): Promise<number> => (await listBlocks(rubato.storage, 'single-tenant')).length;
    const send = async (service: string): Promise<string> => {
      const exporter = makeExporter('grpc', rubato);
      const spans = await recordTraces(2, service);
      assert.ok(await exportSpans(exporter, spans));
      await exporter.shutdown();
      return byTrace(spans)[0]![0]!.spanContext().traceId;
    };

    await send('before-upgrade');
    assert.equal((await fetch(`${rubato.url}/flush`, { method: 'POST' })).status, 204);
    assert.equal(await blocks(), 1);

    // The "upgrade": the block writer's files and the builder's entry are gone.
    rmSync(join(install, 'dist', 'src', 'block'), { recursive: true, force: true });
    rmSync(join(install, 'dist', 'src', 'ingester', 'block-builder-process.js'), { force: true });

    const id = await send('after-upgrade');
    assert.equal((await fetch(`${rubato.url}/flush`, { method: 'POST' })).status, 204);
    assert.equal(await blocks(), 2);
    assert.equal((await fetch(`${rubato.url}/api/traces/${id}`)).status, 200);
  } finally {
    await rubato.stop();
    rubato.cleanup();
    rmSync(install, { recursive: true, force: true });
  }
});
