/**
 * Start-up benchmark: idle RSS of a fresh server, and the time until /ready with a large WAL to
 * replay (default 1 GiB of OTLP requests with fresh trace IDs, written with the WAL module itself).
 *
 *   npm run build && node dist/bench/startup/startup.js [--wal-mib 1024]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWal } from '../../src/wal/wal.js';
import { freshRequest, makeTemplate } from '../lib/fresh-ids.js';
import { peakRssMiB, rssMiB, startServer } from '../lib/server.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const walMiB = Number(args.get('wal-mib') ?? 1024);

async function main(): Promise<void> {
  // 1. idle RSS of a fresh server
  const fresh = mkdtempSync(join(tmpdir(), 'rubato-bench-idle-'));
  const idle = await startServer(fresh);
  const readyMs = await idle.ready();
  await new Promise((r) => setTimeout(r, 3000));
  const idleRss = rssMiB(idle.proc.pid!);
  await idle.stop();
  rmSync(fresh, { recursive: true, force: true });
  console.log(`fresh start: ready in ${readyMs} ms, idle RSS ${idleRss.toFixed(1)} MiB`);

  // 2. a WAL of walMiB to replay
  const dir = mkdtempSync(join(tmpdir(), 'rubato-bench-restart-'));
  const wal = await openWal({ dir: join(dir, 'wal', 'segments'), fsync: false });
  const t = makeTemplate(500, 10);
  let bytes = 0;
  let spans = 0;
  const began = Date.now();
  while (bytes < walMiB * 1024 * 1024) {
    const batch = Array.from({ length: 32 }, () => freshRequest(t));
    await Promise.all(batch.map((b) => wal.append('single-tenant', b)));
    for (const b of batch) bytes += b.length;
    spans += batch.length * t.spans;
  }
  await wal.close();
  console.log(`wrote a WAL of ${(bytes / 1048576).toFixed(0)} MiB (${spans} spans) in ${((Date.now() - began) / 1000).toFixed(1)} s`);

  const server = await startServer(dir, { ingester: ['trace_idle_period: 10s', 'max_block_bytes: 4GB'] });
  const ms = await server.ready();
  const peak = peakRssMiB(server.proc.pid!);
  console.log(
    `restart with ${(bytes / 1048576).toFixed(0)} MiB WAL: ready in ${(ms / 1000).toFixed(2)} s (${(bytes / 1048576 / (ms / 1000)).toFixed(0)} MiB/s), peak RSS during replay ${peak.toFixed(0)} MiB`,
  );
  server.proc.kill('SIGKILL');
  await new Promise((r) => server.proc.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
