// The ring store over TLS and with etcd's own auth (Tempo's kvstore.etcd.tls_* keys, username and
// password): a real etcd that requires client certificates and has auth enabled takes an instance's
// registration from a client with the right settings, and refuses a wrong password and plaintext.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { connectEtcd, Lifecycler, RingWatcher, type EtcdOptions } from '../../src/cluster/etcd-ring.js';
import { makeCa } from '../support/certificates.js';
import { etcdBinary, startEtcd, type Etcd } from '../support/cluster.js';

const required = process.env['RUBATO_REQUIRE_CLUSTER'] === '1' || process.env['CI'] === 'true';
const skip = etcdBinary() === null && !required ? 'etcd not installed (bash .ci/run installs it)' : false;
const logger = pino({ level: 'silent' });
const PASSWORD = 'ring-secret';

/** `p`, or a rejection after `ms`: a refused client may retry rather than fail at once. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms).unref())]);
}

let dir = '';
let etcd: Etcd;
let base: EtcdOptions;

before(async () => {
  if (skip !== false) return;
  dir = mkdtempSync(join(tmpdir(), 'rubato-etcd-tls-'));
  const ca = makeCa(dir);
  const server = ca.issue('etcd', 'server');
  const client = ca.issue('rubato-client', 'client');
  const file = (name: string, data: Buffer): string => {
    writeFileSync(join(dir, name), data);
    return join(dir, name);
  };
  const tls = { ca: ca.cert, cert: client.cert, key: client.key, serverName: '', insecureSkipVerify: false };
  etcd = await startEtcd({ certFile: file('etcd.crt', server.cert), keyFile: file('etcd.key', server.key), clientCaFile: ca.certFile });
  base = { endpoints: [etcd.endpoint.replace(/^https:\/\//, '')], prefix: 'collectors/', dialTimeoutMs: 5_000, tls };
  // Auth on: a root user with a password (the client certificate's name is no etcd user).
  const admin = connectEtcd(base);
  try {
    await admin.role('root').create();
    await (await admin.user('root').create(PASSWORD)).addRole('root');
    await admin.auth.authEnable();
  } finally {
    admin.close();
  }
});

after(async () => {
  await etcd?.stop();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

test('an instance registers and is seen through a TLS, password-authenticated etcd', { skip }, async () => {
  const client = connectEtcd({ ...base, auth: { username: 'root', password: PASSWORD } });
  const watcher = new RingWatcher(client, 'collectors/ingester/', logger);
  const lc = new Lifecycler(
    client,
    'collectors/ingester/',
    { id: 'ingester-1', addr: '127.0.0.1:1', httpAddr: '127.0.0.1:2', tokens: [1, 2, 3] },
    1_000,
    10_000,
    logger,
  );
  try {
    await within(lc.start(), 15_000);
    await within(lc.setState('ACTIVE'), 15_000);
    await within(watcher.start(), 15_000);
    const deadline = Date.now() + 15_000;
    while (!watcher.view().instances.some((i) => i.id === 'ingester-1' && i.state === 'ACTIVE')) {
      if (Date.now() > deadline) assert.fail('the registered instance never showed in the ring');
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await lc.stop();
    await watcher.stop();
    client.close();
  }
});

test('a wrong password and a plaintext client are refused', { skip }, async () => {
  const wrong = connectEtcd({ ...base, auth: { username: 'root', password: 'not-it' } });
  try {
    await assert.rejects(within(wrong.get('collectors/anything').string(), 15_000), (err: Error) => !/no answer/.test(err.message));
  } finally {
    wrong.close();
  }
  const { tls: _tls, ...plain } = base;
  const plaintext = connectEtcd({ ...plain, auth: { username: 'root', password: PASSWORD } });
  try {
    await assert.rejects(within(plaintext.get('collectors/anything').string(), 8_000));
  } finally {
    plaintext.close();
  }
});
