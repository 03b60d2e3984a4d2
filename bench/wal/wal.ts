/**
 * WAL benchmark: group-commit append throughput/latency with real fsync, then replay speed.
 *
 *   node dist/bench/wal/wal.js [--seconds=5] [--writers=64] [--payload-kb=16] [--replay-mb=1024]
 *
 * Phase 1: `writers` loops each append a payload and await it, for `seconds`, fsync on.
 * Phase 2: replay what phase 1 wrote. Phase 3: write `replay-mb` MiB without fsync (fast fill) and
 * replay that, to check the "1 GB in a few seconds" goal. Replays read from a warm page cache.
 * Everything lives in a temp dir under os.tmpdir() that is removed at the end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openWal } from '../../src/wal/wal.js';
import { crc32IsNative } from '../../src/util/crc32.js';

function arg(name: string, def: number): number {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit === undefined ? def : Number(hit.slice(name.length + 3));
}

const seconds = arg('seconds', 5);
const writers = arg('writers', 64);
const payloadBytes = arg('payload-kb', 16) * 1024;
const replayMb = arg('replay-mb', 1024);
const MB = 1e6;

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function appendPhase(dir: string): Promise<void> {
  const wal = await openWal({ dir });
  const payload = randomBytes(payloadBytes);
  const lat: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await wal.append('single-tenant', payload);
        lat.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const st = wal.stats();
  await wal.close();
  const sorted = Float64Array.from(lat).sort();
  console.log(`append: ${writers} writers x ${payloadBytes / 1024} KiB, fsync on, ${elapsed.toFixed(2)} s`);
  console.log(`  appends/s      ${(st.appends / elapsed).toFixed(0)}`);
  console.log(`  MB/s           ${(st.bytesWritten / MB / elapsed).toFixed(1)}`);
  console.log(`  fsyncs/s       ${(st.fsyncs / elapsed).toFixed(0)}  (avg ${(st.appends / st.fsyncs).toFixed(1)} records per fsync)`);
  console.log(
    `  latency ms     p50 ${quantile(sorted, 0.5).toFixed(2)}  p99 ${quantile(sorted, 0.99).toFixed(2)}  max ${sorted[sorted.length - 1]?.toFixed(2)}`,
  );
  console.log(`  segments ${st.segments}, ${(st.bytes / MB).toFixed(1)} MB on disk`);
}

async function replayPhase(dir: string, label: string): Promise<void> {
  const wal = await openWal({ dir, fsync: false });
  let sum = 0;
  const t0 = performance.now();
  const rs = await wal.replay((_tenant, payload) => {
    sum += payload.length;
  });
  const elapsed = (performance.now() - t0) / 1000;
  await wal.close();
  console.log(
    `replay (${label}): ${rs.records} records, ${rs.segments} segments, ${(rs.bytes / MB).toFixed(1)} MB in ${elapsed.toFixed(2)} s = ${(rs.bytes / MB / elapsed).toFixed(0)} MB/s` +
      (sum > 0 ? '' : ' (empty)'),
  );
}

async function fill(dir: string, totalMb: number): Promise<void> {
  const wal = await openWal({ dir, fsync: false });
  const payload = randomBytes(payloadBytes);
  const n = Math.ceil((totalMb * 1024 * 1024) / payloadBytes);
  const t0 = performance.now();
  for (let i = 0; i < n; i += 256) {
    const k = Math.min(256, n - i);
    await Promise.all(Array.from({ length: k }, () => wal.append('single-tenant', payload)));
  }
  const elapsed = (performance.now() - t0) / 1000;
  const st = wal.stats();
  await wal.close();
  console.log(`fill: ${(st.bytesWritten / MB).toFixed(0)} MB without fsync in ${elapsed.toFixed(2)} s`);
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, crc32 ${crc32IsNative ? 'native zlib.crc32' : 'JS slicing-by-8'}`);
  const root = await mkdtemp(join(tmpdir(), 'rubato-wal-bench-'));
  try {
    const a = join(root, 'fsync');
    await appendPhase(a);
    await replayPhase(a, 'phase 1 output');
    if (replayMb > 0) {
      const b = join(root, 'big');
      await fill(b, replayMb);
      await replayPhase(b, `${replayMb} MiB`);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
