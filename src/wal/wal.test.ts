import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readdir, stat, truncate, readFile, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWal, type ReplayStats, type WalLogger } from './wal.js';
import { listSegments, readSegment, REPLAY_CHUNK_BYTES, segmentPath } from './segment.js';
import { encodeRecord } from './record.js';
import { isTransientIoError } from './io-errors.js';

interface Rec {
  tenant: string;
  payload: Buffer;
  segment: number;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'rubato-wal-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function payloadFor(i: number): Buffer {
  const len = (i * 37) % 900;
  const b = Buffer.alloc(len);
  for (let k = 0; k < len; k++) b[k] = (i + k) & 0xff;
  return b;
}

/** Byte offset of record `n` of a segment, found by walking the framing lengths. */
function recordOffset(bytes: Buffer, n: number): number {
  let off = 0;
  for (let i = 0; i < n; i++) off += 12 + bytes.readUInt16LE(off + 2) + bytes.readUInt32LE(off + 4);
  return off;
}

function captureLogger(): WalLogger & { warnings: object[] } {
  const warnings: object[] = [];
  return { warnings, warn: (obj) => void warnings.push(obj), info: () => {} };
}

async function replayAll(dir: string, logger?: WalLogger): Promise<{ recs: Rec[]; stats: ReplayStats }> {
  const wal = await openWal({ dir, fsync: false, logger });
  const recs: Rec[] = [];
  const stats = await wal.replay((tenant, payload, segment) => recs.push({ tenant, payload: Buffer.from(payload), segment }));
  await wal.close();
  return { recs, stats };
}

test('round trip of many records across rotations', async () => {
  await withDir(async (dir) => {
    const wal = await openWal({ dir, segmentBytes: 4096, fsync: false });
    const written: Rec[] = [];
    // Half sequential, half concurrent, so both single and grouped batches cross rotations.
    for (let i = 0; i < 200; i++) {
      const tenant = `t${i % 3}`;
      const segment = await wal.append(tenant, payloadFor(i));
      written.push({ tenant, payload: payloadFor(i), segment });
    }
    const ids = await Promise.all(Array.from({ length: 300 }, (_, k) => wal.append(`t${(200 + k) % 3}`, payloadFor(200 + k))));
    for (const [k, segment] of ids.entries()) written.push({ tenant: `t${(200 + k) % 3}`, payload: payloadFor(200 + k), segment });
    // Oversized record gets a segment of its own.
    const big = Buffer.alloc(10_000, 7);
    written.push({ tenant: 'big', payload: big, segment: await wal.append('big', big) });
    const st = wal.stats();
    assert.equal(st.appends, 501);
    await wal.close();
    await assert.rejects(wal.append('t', Buffer.alloc(1)), /closed/);

    const segs = await listSegments(dir);
    assert.ok(segs.length > 10, `expected many segments, got ${segs.length}`);
    for (const id of segs.slice(0, -1)) assert.ok((await stat(segmentPath(dir, id))).size <= 4096);
    assert.equal(st.segments, segs.length);

    const { recs, stats } = await replayAll(dir);
    assert.equal(stats.records, 501);
    assert.equal(stats.segments, segs.length);
    assert.equal(stats.corruptSegments, 0);
    assert.equal(stats.truncatedBytes, 0);
    assert.equal(stats.bytes, st.bytesWritten);
    assert.deepEqual(recs, written);
  });
});

test('1000 concurrent appends share fsyncs', async () => {
  await withDir(async (dir) => {
    const wal = await openWal({ dir });
    const ids = await Promise.all(Array.from({ length: 1000 }, (_, i) => wal.append('single-tenant', payloadFor(i))));
    const st = wal.stats();
    assert.equal(st.appends, 1000);
    assert.ok(st.fsyncs >= 1);
    assert.ok(st.fsyncs < st.appends, `fsyncs ${st.fsyncs} should be < appends ${st.appends}`);
    assert.ok(ids.every((id) => id === ids[0]));
    await wal.close();
  });
});

test('cut separates records; cut on an empty segment is a no-op', async () => {
  await withDir(async (dir) => {
    const wal = await openWal({ dir, fsync: false });
    const first = wal.stats().currentSegment;
    assert.equal(await wal.cut(), first);
    const a = wal.append('t', Buffer.from('a'));
    const cut = wal.cut();
    const b = wal.append('t', Buffer.from('b'));
    assert.equal(await a, first);
    assert.equal(await cut, first + 1);
    assert.equal(await b, first + 1);
    assert.equal(wal.stats().currentSegment, first + 1);
    await wal.close();
  });
});

test('torn tail: earlier records kept, warning logged, file truncated', async () => {
  await withDir(async (dir) => {
    const wal = await openWal({ dir, fsync: false });
    for (let i = 0; i < 50; i++) await wal.append('t', payloadFor(i + 10));
    await wal.close();
    const [id] = await listSegments(dir);
    const path = segmentPath(dir, id!);
    const full = (await stat(path)).size;
    await truncate(path, full - 100); // mid-way through the last record (its payload is > 100 bytes)

    const logger = captureLogger();
    const { recs, stats } = await replayAll(dir, logger);
    assert.equal(stats.records, 49);
    assert.equal(stats.corruptSegments, 1);
    assert.ok(stats.truncatedBytes > 0);
    assert.equal(logger.warnings.length, 1);
    assert.deepEqual(
      recs.map((r) => r.payload),
      Array.from({ length: 49 }, (_, i) => payloadFor(i + 10)),
    );
    assert.equal((await stat(path)).size, stats.bytes);

    // Truncation is persistent: a second replay is clean. A header cut short is handled too.
    const again = await replayAll(dir, captureLogger());
    assert.equal(again.stats.records, 49);
    assert.equal(again.stats.corruptSegments, 0);
    await writeFile(path, Buffer.concat([await readFile(path), Buffer.from([0xb7, 0x01, 0x00])]));
    const short = await replayAll(dir);
    assert.equal(short.stats.records, 49);
    assert.equal(short.stats.truncatedBytes, 3);
  });
});

test('flipped byte in the middle of a non-last segment: only that record is lost, replay resynchronises', async () => {
  await withDir(async (dir) => {
    const wal = await openWal({ dir, fsync: false });
    for (let seg = 0; seg < 3; seg++) {
      for (let i = 0; i < 20; i++) await wal.append(`s${seg}`, payloadFor(seg * 100 + i + 1));
      await wal.cut();
    }
    await wal.close();
    const segs = await listSegments(dir);
    assert.equal(segs.length, 3);
    const path = segmentPath(dir, segs[1]!);
    const bytes = await readFile(path);
    const off = recordOffset(bytes, 10);
    const flipAt = off + 12 + 2 + 5; // inside record 10's payload
    bytes[flipAt] = bytes[flipAt]! ^ 0xff;
    await writeFile(path, bytes);

    for (let round = 0; round < 2; round++) {
      const logger = captureLogger();
      const { recs, stats } = await replayAll(dir, logger);
      assert.equal(stats.records, 20 + 19 + 20);
      assert.equal(stats.corruptSegments, 1);
      assert.equal(stats.truncatedBytes, 0);
      assert.equal(stats.skippedStretches, 1);
      assert.equal(stats.skippedBytes, recordOffset(bytes, 11) - off);
      assert.equal(logger.warnings.length, 1);
      assert.deepEqual(
        recs.map((r) => r.tenant),
        [...Array<string>(20).fill('s0'), ...Array<string>(19).fill('s1'), ...Array<string>(20).fill('s2')],
      );
      assert.deepEqual(recs[29]!.payload, payloadFor(100 + 9 + 1));
      assert.deepEqual(recs[30]!.payload, payloadFor(100 + 11 + 1));
      assert.deepEqual(recs[39]!.payload, payloadFor(200 + 1));
      // Good data after the damage is never cut off.
      assert.equal((await stat(path)).size, bytes.length);
    }
  });
});

test('every single bit flip in a record costs that record only, also across read-chunk boundaries', async () => {
  await withDir(async (dir) => {
    const tenants = ['a', 'bb', 'a', 'ccc', 'a'];
    const small = (i: number) => Buffer.from(`payload-${i}`);
    const clean = Buffer.concat(tenants.map((t, i) => encodeRecord(t, small(i))));
    const victim = 2;
    const from = recordOffset(clean, victim);
    const to = recordOffset(clean, victim + 1);
    const path = segmentPath(dir, 1);
    for (const chunk of [REPLAY_CHUNK_BYTES, 16]) {
      for (let bit = from * 8; bit < to * 8; bit++) {
        const bytes = Buffer.from(clean);
        bytes[bit >> 3] = bytes[bit >> 3]! ^ (1 << (bit & 7));
        await writeFile(path, bytes);
        const got: string[] = [];
        const r = await readSegment(dir, 1, (t, p) => got.push(`${t}:${Buffer.from(p).toString('hex')}`), undefined, chunk);
        const want = tenants.map((t, i) => `${t}:${small(i).toString('hex')}`).filter((_, i) => i !== victim);
        assert.deepEqual(got, want, `bit ${bit}, chunk ${chunk}`);
        assert.equal(r.skippedStretches, 1, `bit ${bit}`);
        assert.equal(r.truncatedBytes, 0, `bit ${bit}`);
        assert.equal(r.fileBytes, clean.length);
      }
    }
  });
});

test('a zeroed stretch over several records is skipped as one; damage in the last record is a tail', async () => {
  await withDir(async (dir) => {
    const wal = await openWal({ dir, fsync: false });
    for (let i = 0; i < 30; i++) await wal.append('t', payloadFor(i + 1));
    await wal.close();
    const [id] = await listSegments(dir);
    const path = segmentPath(dir, id!);
    const bytes = await readFile(path);
    const [r5, r9, r10, last] = [recordOffset(bytes, 5), recordOffset(bytes, 9), recordOffset(bytes, 10), recordOffset(bytes, 29)];
    bytes.fill(0, r5 + 3, r9 + 7); // records 5..9 hit
    bytes[last + 20] = bytes[last + 20]! ^ 1;
    await writeFile(path, bytes);
    const logger = captureLogger();
    const { recs, stats } = await replayAll(dir, logger);
    const want = [0, 1, 2, 3, 4, ...Array.from({ length: 19 }, (_, k) => k + 10)].map((i) => payloadFor(i + 1));
    assert.deepEqual(
      recs.map((r) => r.payload),
      want,
    );
    assert.equal(stats.skippedStretches, 1);
    assert.equal(stats.skippedBytes, r10 - r5);
    assert.equal(stats.truncatedBytes, bytes.length - last);
    assert.equal(logger.warnings.length, 2);
    assert.equal((await stat(path)).size, last);
  });
});

test('replay handles records larger than the read chunk', async () => {
  await withDir(async (dir) => {
    const wal = await openWal({ dir, fsync: false });
    const big = Buffer.alloc(9 * 1024 * 1024 + 3, 1);
    await wal.append('t', payloadFor(5));
    await wal.append('t', big);
    await wal.append('t', payloadFor(6));
    await wal.close();
    const sizes: number[] = [];
    const reopened = await openWal({ dir, fsync: false });
    await reopened.replay((_t, p) => sizes.push(p.length));
    await reopened.close();
    assert.deepEqual(sizes, [payloadFor(5).length, big.length, payloadFor(6).length]);
  });
});

test('append after replay goes to a new segment', async () => {
  await withDir(async (dir) => {
    const w1 = await openWal({ dir, fsync: false });
    const s1 = await w1.append('t', Buffer.from('one'));
    await w1.close();
    const w2 = await openWal({ dir, fsync: false });
    const seen: number[] = [];
    await w2.replay((_t, _p, seg) => seen.push(seg));
    assert.deepEqual(seen, [s1]);
    const s2 = await w2.append('t', Buffer.from('two'));
    assert.ok(s2 > s1);
    assert.deepEqual(await listSegments(dir), [s1, s2]);
    await w2.close();
  });
});

test('removeBefore deletes older segments but never the current one', async () => {
  await withDir(async (dir) => {
    const wal = await openWal({ dir, fsync: false });
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push(await wal.append('t', payloadFor(i + 1)));
      await wal.cut();
    }
    const current = await wal.append('t', Buffer.from('cur'));
    assert.equal(wal.stats().segments, 5);
    await wal.removeBefore(ids[2]!);
    assert.deepEqual(await listSegments(dir), [ids[2], ids[3], current]);
    await wal.removeBefore(current + 100);
    assert.deepEqual(await listSegments(dir), [current]);
    const st = wal.stats();
    assert.equal(st.segments, 1);
    assert.equal(st.currentSegment, current);
    assert.equal(await wal.append('t', Buffer.from('more')), current);
    await wal.close();
    const { recs } = await replayAll(dir);
    assert.deepEqual(
      recs.map((r) => r.payload.toString()),
      ['cur', 'more'],
    );
  });
});

test('empty and missing dir', async () => {
  await withDir(async (dir) => {
    const sub = join(dir, 'a', 'wal');
    const wal = await openWal({ dir: sub });
    const stats = await wal.replay(() => assert.fail('no records expected'));
    assert.deepEqual(stats, { segments: 0, records: 0, bytes: 0, truncatedBytes: 0, skippedStretches: 0, skippedBytes: 0, corruptSegments: 0 });
    assert.deepEqual(wal.stats(), { segments: 0, bytes: 0, currentSegment: 1, appends: 0, fsyncs: 0, bytesWritten: 0 });
    await wal.close();
    assert.deepEqual(await readdir(sub), []);
  });
});

test('a failed write rejects that batch, and later appends go to a fresh segment', async () => {
  await withDir(async (dir) => {
    const logger = captureLogger();
    const wal = await openWal({ dir, fsync: false, logger });
    const s1 = await wal.append('t', Buffer.from('ok-1'));
    await wal.cut();
    // Squat the next segment's file name so creating it fails (EEXIST).
    await writeFile(segmentPath(dir, s1 + 1), Buffer.from('garbage'));
    const failed = await Promise.allSettled([wal.append('t', Buffer.from('x')), wal.append('t', Buffer.from('y'))]);
    assert.ok(failed.every((r) => r.status === 'rejected'));
    assert.equal(logger.warnings.length, 1);
    const s3 = await wal.append('t', Buffer.from('ok-2'));
    assert.equal(s3, s1 + 2);
    await wal.close();
    const { recs, stats } = await replayAll(dir);
    assert.deepEqual(
      recs.map((r) => r.payload.toString()),
      ['ok-1', 'ok-2'],
    );
    assert.equal(stats.corruptSegments, 1); // the squatted garbage file
  });
});

test('close commits appends issued before it', async () => {
  await withDir(async (dir) => {
    const wal = await openWal({ dir, fsync: false });
    const pending = Array.from({ length: 10 }, (_, i) => wal.append('t', payloadFor(i)));
    await wal.close();
    const ids = await Promise.all(pending);
    assert.equal(ids.length, 10);
    await assert.rejects(wal.cut(), /closed/);
    const { stats } = await replayAll(dir);
    assert.equal(stats.records, 10);
  });
});

test('disk full (a real tmpfs): appends reject with a transient error, leave no empty segments behind, and succeed once space is back', async (t) => {
  await withDir(async (dir) => {
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });
    } catch (err) {
      t.skip(`cannot mount a tmpfs here (needs root): ${(err as Error).message.split('\n')[0]}`);
      return;
    }
    try {
      const logger = captureLogger();
      const wal = await openWal({ dir, logger });
      const before = await wal.append('t', Buffer.from('before'));
      const fs = statfsSync(dir);
      await writeFile(join(dir, 'ballast'), Buffer.alloc(fs.bavail * fs.bsize));
      const errors: unknown[] = [];
      for (let i = 0; i < 30; i++) {
        // Bigger than what is left of the current segment's last page.
        await wal.append('t', Buffer.alloc(8192, i)).then(
          () => assert.fail('append on a full disk resolved'),
          (err: unknown) => errors.push(err),
        );
      }
      assert.ok(errors.every((e) => isTransientIoError(e) && (e as NodeJS.ErrnoException).code === 'ENOSPC'));
      assert.equal(logger.warnings.length, 1, 'one warning per failing stretch');
      assert.ok((await listSegments(dir)).length <= 2, `segments: ${(await listSegments(dir)).join(',')}`);
      await rm(join(dir, 'ballast'));
      const after = await wal.append('t', Buffer.from('after'));
      assert.ok(after > before);
      await wal.close();
      const { recs, stats } = await replayAll(dir);
      assert.deepEqual(
        recs.map((r) => r.payload.toString()),
        ['before', 'after'],
      );
      assert.equal(stats.skippedStretches + stats.truncatedBytes, 0);
    } finally {
      execFileSync('umount', [dir], { stdio: 'pipe' });
    }
  });
});
