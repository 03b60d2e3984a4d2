import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SecureContextOptions } from 'node:tls';
import { makeCa, type TestCa } from '../../test/support/certificates.js';
import { CertificateWatcher } from './certificate-watcher.js';
import type { TlsListenerSettings } from './settings.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

function fingerprintOf(o: SecureContextOptions): string {
  return new X509Certificate(o.cert as Buffer).fingerprint256;
}

describe('CertificateWatcher', () => {
  let dir: string;
  let ca: TestCa;
  let settings: TlsListenerSettings;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rubato-certwatch-'));
    ca = makeCa(dir);
    const first = ca.issue('first', 'server');
    settings = {
      listener: 'test',
      certFile: join(dir, 'tls.crt'),
      keyFile: join(dir, 'tls.key'),
      clientCaFile: '',
      clientAuth: 'NoClientCert',
      minVersion: 'TLSv1.2',
    };
    writeFileSync(settings.certFile, first.cert);
    writeFileSync(settings.keyFile, first.key);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('takes a new valid pair, keeps the old one over a bad pair, and tells subscribers only of good ones', () => {
    const errors: string[] = [];
    const w = new CertificateWatcher(settings, { ...quiet, error: (_o, msg) => errors.push(msg) }, { pollMs: 3_600_000 });
    try {
      const seen: string[] = [];
      w.subscribe((o) => seen.push(fingerprintOf(o)));
      const start = fingerprintOf(w.current);
      assert.equal(w.check(), false, 'unchanged files are not a reload');

      const second = ca.issue('second', 'server');
      writeFileSync(settings.certFile, second.cert);
      writeFileSync(settings.keyFile, second.key);
      assert.equal(w.check(), true);
      assert.equal(fingerprintOf(w.current), second.fingerprint);
      assert.notEqual(start, second.fingerprint);

      // A certificate with somebody else's key: refused, logged once however often it is seen.
      writeFileSync(settings.certFile, ca.issue('third', 'server').cert);
      assert.equal(w.check(), false);
      assert.equal(w.check(), false);
      assert.equal(fingerprintOf(w.current), second.fingerprint);
      assert.equal(errors.length, 1);

      writeFileSync(settings.certFile, 'not a certificate');
      assert.equal(w.check(), false);
      assert.equal(errors.length, 2);
      assert.deepEqual(seen, [second.fingerprint]);
    } finally {
      w.close();
    }
  });

  it('refuses to start on unusable files, naming them', () => {
    writeFileSync(join(dir, 'bad.crt'), 'garbage');
    assert.throws(
      () => new CertificateWatcher({ ...settings, certFile: join(dir, 'bad.crt') }, quiet),
      /TLS for test: cannot load the certificate: .*bad\.crt/,
    );
    assert.throws(() => new CertificateWatcher({ ...settings, keyFile: join(dir, 'missing.key') }, quiet), /missing\.key/);
  });
});
