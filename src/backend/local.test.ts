import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalBackend } from './local.js';

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'rubato-local-'));
  try {
    await fn(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test('write, read, readRange, list, delete', () =>
  withRoot(async (root) => {
    const b = createLocalBackend(root);
    assert.equal(await b.read('t/x/meta.json'), null);
    assert.deepEqual(await b.list(''), []);
    await b.write('t/x/meta.json', Buffer.from('{"a":1}'));
    await b.write('t/x/data', Buffer.from('0123456789'));
    await b.write('t/y/data', Buffer.from('zz'));
    assert.equal((await b.read('t/x/meta.json'))?.toString(), '{"a":1}');
    assert.equal((await b.readRange('t/x/data', 3, 4)).toString(), '3456');
    assert.deepEqual(await b.list(''), ['t']);
    assert.deepEqual(await b.list('t'), ['x', 'y']);
    assert.deepEqual(await b.list('t/x'), ['data', 'meta.json']);
    assert.deepEqual(await b.list('nope'), []);
    // Overwrite replaces the whole object and leaves no temp files behind.
    await b.write('t/x/data', Buffer.from('abc'));
    assert.equal((await b.read('t/x/data'))?.toString(), 'abc');
    assert.deepEqual(await readdir(join(root, 't', 'x')), ['data', 'meta.json']);
    await b.delete('t/x');
    assert.deepEqual(await b.list('t'), ['y']);
    await b.delete('t/missing');
    await assert.rejects(b.readRange('t/x/data', 0, 1));
    assert.equal(b.localPath('t/y/data'), join(root, 't', 'y', 'data'));
  }));

test('keys cannot escape the root', () =>
  withRoot(async (root) => {
    const b = createLocalBackend(root);
    await assert.rejects(b.write('../evil', Buffer.from('x')));
    assert.throws(() => b.localPath('a/../../b'));
  }));

test('writeFile moves a local file into place atomically', () =>
  withRoot(async (root) => {
    const b = createLocalBackend(root);
    const src = join(root, 't', '.tmp-work', 'data');
    await b.write('t/.tmp-work/keep', Buffer.from('x'));
    await writeFile(src, 'parquet bytes');
    await b.writeFile('t/blk/data.parquet', src);
    assert.equal((await b.read('t/blk/data.parquet'))?.toString(), 'parquet bytes');
    await assert.rejects(stat(src));
    // Work folders are not listed.
    assert.deepEqual(await b.list('t'), ['blk']);
    // Overwrite, and from another folder outside the root (a rename or a copy, same result).
    const outside = await mkdtemp(join(tmpdir(), 'rubato-local-src-'));
    try {
      await writeFile(join(outside, 'f'), 'second');
      await b.writeFile('t/blk/data.parquet', join(outside, 'f'));
      assert.equal((await b.read('t/blk/data.parquet'))?.toString(), 'second');
      assert.deepEqual(await readdir(outside), []);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
    assert.deepEqual(await readdir(join(root, 't', 'blk')), ['data.parquet']);
    await assert.rejects(b.writeFile('../evil', src));
  }));
