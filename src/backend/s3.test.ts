// The S3 backend against a real S3-compatible server (MinIO, started by the test): objects, ranges,
// streamed multipart uploads, listing as folders, deletes, prefixes, and missing objects.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBucket, minioBinary, minioEndpoint, minioOptions } from '../../test/support/minio.js';
import type { Backend } from './backend.js';
import { createS3Backend } from './s3.js';
import { listBlocks, listIncompleteBlocks } from '../block/listing.js';

const skip = minioBinary() === null && process.env['RUBATO_REQUIRE_S3'] !== '1' ? 'MinIO not installed (.ci/run installs it)' : false;
let backend: Backend;
let other: Backend;
let dir: string;

before(async () => {
  if (skip !== false) return;
  const endpoint = await minioEndpoint();
  const bucket = `rubato-unit-${randomBytes(4).toString('hex')}`;
  await createBucket(endpoint, bucket);
  backend = createS3Backend({ ...minioOptions(endpoint, bucket), prefix: 'a/b' });
  other = createS3Backend({ ...minioOptions(endpoint, bucket), prefix: 'a/c' });
  dir = mkdtempSync(join(tmpdir(), 'rubato-s3-test-'));
});
after(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

test('objects: write, read, ranges, missing', { skip }, async () => {
  await backend.write('t/blk/meta.json', Buffer.from('{"x":1}'));
  assert.equal((await backend.read('t/blk/meta.json'))?.toString(), '{"x":1}');
  assert.equal(await backend.read('t/blk/nope'), null);
  await backend.write('t/blk/data', Buffer.from('0123456789'));
  assert.equal((await backend.readRange('t/blk/data', 3, 4)).toString(), '3456');
  await assert.rejects(backend.readRange('t/nope', 0, 4));
  assert.equal(backend.localPath('t/blk/data'), null);
  await assert.rejects(backend.write('../escape', Buffer.from('x')), /escapes root/);
});

test('writeFile streams a file bigger than a part as one object and removes the local file', { skip }, async () => {
  const file = join(dir, 'big');
  const data = randomBytes(20 * 1024 * 1024 + 123);
  writeFileSync(file, data);
  await backend.writeFile('t/big/data.parquet', file);
  assert.equal(existsSync(file), false);
  const tail = await backend.readRange('t/big/data.parquet', data.byteLength - 100, 100);
  assert.deepEqual(tail, data.subarray(data.byteLength - 100));
  assert.deepEqual(await backend.read('t/big/data.parquet'), data);
});

test('list shows immediate children, delete removes a folder, prefixes keep backends apart', { skip }, async () => {
  await backend.write('u/b1/meta.json', Buffer.from('1'));
  await backend.write('u/b1/data.parquet', Buffer.from('2'));
  await backend.write('u/b2/data.parquet', Buffer.from('3'));
  assert.deepEqual(await backend.list('u'), ['b1', 'b2']);
  assert.deepEqual(await backend.list('u/b1'), ['data.parquet', 'meta.json']);
  assert.deepEqual(await backend.list('nothing'), []);
  assert.ok((await backend.list('')).includes('u'));
  assert.deepEqual(await other.list(''), []);
  await backend.delete('u/b1');
  assert.deepEqual(await backend.list('u'), ['b2']);
  await backend.delete('u/b2/data.parquet');
  await backend.delete('u/missing');
  assert.deepEqual(await backend.list('u'), []);
});

test('a block whose upload stopped before meta.json is not a block', { skip }, async () => {
  await backend.write('p/half/data.parquet', Buffer.from('PAR1'));
  await backend.write('p/half/bloom', Buffer.from('x'));
  assert.deepEqual(await listBlocks(backend, 'p'), []);
  assert.deepEqual(await listIncompleteBlocks(backend, 'p'), ['half']);
});
