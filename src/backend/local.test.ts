import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
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
