import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCa, type Pem } from '../../test/support/certificates.js';
import { DEFAULT_HTTP_LISTENER } from '../util/http-listener.js';
import { CertificateWatcher } from './certificate-watcher.js';
import { createNodeServer } from './http-server.js';
import type { ClientAuth } from './settings.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** 'ok' when the server answered, 'refused' when the connection failed. */
function get(port: number, ca: Buffer, client: Pem | null): Promise<'ok' | 'refused'> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, ca, ...(client !== null ? { cert: client.cert, key: client.key } : {}) }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? 'ok' : 'refused'));
    });
    req.on('error', () => resolve('refused'));
    req.end();
  });
}

describe("createNodeServer: Go's client_auth_type modes", () => {
  let dir: string;
  let caFile: string;
  let ca: Buffer;
  let signed: Pem;
  let stranger: Pem;
  let serverFiles: { certFile: string; keyFile: string };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rubato-clientauth-'));
    const authority = makeCa(join(dir, 'pki'));
    authority.issue('server', 'server');
    serverFiles = { certFile: join(dir, 'pki', 'server.crt'), keyFile: join(dir, 'pki', 'server.key') };
    signed = authority.issue('client', 'client');
    stranger = makeCa(join(dir, 'other'), 'other-ca').issue('stranger', 'client');
    caFile = authority.certFile;
    ca = authority.cert;
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  // What each mode lets in: no certificate, a certificate the CA signed, one another CA signed.
  const cases: [ClientAuth, [string, string, string]][] = [
    ['NoClientCert', ['ok', 'ok', 'ok']],
    ['RequestClientCert', ['ok', 'ok', 'ok']],
    ['RequireAnyClientCert', ['refused', 'ok', 'ok']],
    ['VerifyClientCertIfGiven', ['ok', 'ok', 'refused']],
    ['RequireAndVerifyClientCert', ['refused', 'ok', 'refused']],
  ];
  for (const [mode, want] of cases) {
    it(mode, async () => {
      const watcher = new CertificateWatcher(
        { listener: 'test', ...serverFiles, clientCaFile: mode === 'NoClientCert' ? '' : caFile, clientAuth: mode, minVersion: 'TLSv1.2' },
        quiet,
      );
      const server = createNodeServer((_req, res) => res.end('ok'), DEFAULT_HTTP_LISTENER, watcher);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const { port } = server.address() as AddressInfo;
        assert.deepEqual([await get(port, ca, null), await get(port, ca, signed), await get(port, ca, stranger)], want);
      } finally {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        watcher.close();
      }
    });
  }
});
