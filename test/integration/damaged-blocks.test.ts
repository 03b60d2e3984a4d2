// A damaged block must not break the server: a truncated data.parquet is quarantined (logged, counted,
// skipped) so searches and lookups of other blocks still answer; a garbled bloom or index is not
// trusted and lookups read the data instead; a garbled meta.json is rebuilt from the block's data by
// the compactor. Error bodies never show file paths or SQL.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRubato, type RubatoProcess } from '../support/rubato-process.js';
import { byTrace, exportSpans, makeExporter, recordTraces } from '../support/otel-traces.js';

const CONFIG = ['compactor:', '  compaction:', '    compaction_cycle: 1s', '    compaction_window: 1ms'].join('\n');

let rubato: RubatoProcess;
let tenantDir: string;
/** Block folder and one trace ID per flushed set. */
const sets = new Map<string, { block: string; traceId: string }>();

const blockFolders = (): string[] => (existsSync(tenantDir) ? readdirSync(tenantDir).filter((b) => !b.startsWith('.')) : []);

async function until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const status = async (path: string): Promise<number> => (await fetch(`${rubato.url}${path}`)).status;

/** Garbles the middle of a file, keeping its length. */
function garble(file: string): void {
  const buf = readFileSync(file);
  const at = Math.floor(buf.length / 3);
  randomBytes(Math.max(1, Math.floor(buf.length / 3))).copy(buf, at);
  writeFileSync(file, buf);
}

before(async () => {
  rubato = await startRubato({ extraYaml: CONFIG });
  await rubato.waitReady();
  tenantDir = join(rubato.dataDir, 'traces', 'single-tenant');
  for (const name of ['a', 'b', 'c']) {
    const exporter = makeExporter('grpc', rubato);
    const spans = await recordTraces(5, `damaged-${name}`);
    assert.ok(await exportSpans(exporter, spans));
    await exporter.shutdown();
    const before = new Set(blockFolders());
    assert.equal((await fetch(`${rubato.url}/flush`, { method: 'POST' })).status, 204);
    const [block] = blockFolders().filter((b) => !before.has(b));
    assert.ok(block !== undefined);
    sets.set(name, { block, traceId: byTrace(spans)[0]![0]!.spanContext().traceId });
  }
});
after(async () => {
  await rubato.stop();
  rubato.cleanup();
});

test('a truncated data.parquet is quarantined: other blocks still answer, nothing leaks', async () => {
  const a = sets.get('a')!;
  const file = join(tenantDir, a.block, 'data.parquet');
  truncateSync(file, Math.floor(readFileSync(file).length / 2));

  const search = await fetch(`${rubato.url}/api/search?q=${encodeURIComponent('{ }')}&limit=100`);
  assert.equal(search.status, 200);
  const found = ((await search.json()) as { traces: { rootServiceName: string }[] }).traces.map((t) => t.rootServiceName);
  assert.ok(found.includes('damaged-b') && found.includes('damaged-c'), found.join(','));
  assert.equal(await status(`/api/traces/${sets.get('b')!.traceId}`), 200);
  const lost = await fetch(`${rubato.url}/api/traces/${a.traceId}`);
  assert.notEqual(lost.status, 500);
  assert.doesNotMatch(await lost.text(), /parquet|SELECT|\//);
  const names = await fetch(`${rubato.url}/api/v2/search/tag/name/values`);
  assert.equal(names.status, 200);
  const metrics = await (await fetch(`${rubato.url}/metrics`)).text();
  assert.match(metrics, /^rubato_blocks_quarantined\{tenant="single-tenant"\} 1$/m);
  assert.match(rubato.output(), /block is damaged: quarantined/);
});

test('a garbled meta.json is rebuilt from the data by the compactor', async () => {
  const b = sets.get('b')!;
  writeFileSync(join(tenantDir, b.block, 'meta.json'), '{ not json');
  await until('the compactor to rebuild the block', () => !blockFolders().includes(b.block));
  await until('the rebuilt block to serve the trace', async () => (await status(`/api/traces/${b.traceId}`)) === 200);
  assert.match(rubato.output(), /rebuilt from its data/);
});

test('a garbled bloom filter and index are not trusted: lookups read the data', async () => {
  const c = sets.get('c')!;
  garble(join(tenantDir, c.block, 'bloom'));
  garble(join(tenantDir, c.block, 'index'));
  // Blocks are opened once; a restart makes the server open this one again.
  assert.equal(await rubato.stop(), 0);
  rubato = await startRubato({ extraYaml: CONFIG, dataDir: rubato.dataDir });
  await rubato.waitReady();
  assert.equal(await status(`/api/traces/${c.traceId}`), 200);
  const metrics = await (await fetch(`${rubato.url}/metrics`)).text();
  assert.match(metrics, /^rubato_block_damaged_files_total\{tenant="single-tenant"\} 2$/m);
});
