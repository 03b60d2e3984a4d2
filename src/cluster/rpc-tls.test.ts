// The internal gRPC port over TLS (server.grpc_tls_config) and the clients' keys
// (ingester_client.grpc_client_config): mTLS admits only certificates the CA signed, a plaintext
// client or one without a certificate is refused, Go's VerifyClientCertIfGiven lets a client without
// one in, and tls_server_name / tls_insecure_skip_verify mean what they mean in Tempo.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { makeCa, type Pem } from '../../test/support/certificates.js';
import { CertificateWatcher } from '../tls/certificate-watcher.js';
import type { ClientAuth, GrpcClientTls } from '../tls/settings.js';
import { IngesterClient, startIngesterRpcServer, type RpcServer } from './rpc.js';

const logger = pino({ level: 'silent' });
const TRACE_ID = '0123456789abcdef0123456789abcdef';

describe('internal gRPC over TLS', () => {
  let dir: string;
  let ca: Buffer;
  let client: Pem;
  let stranger: Pem;
  let serverFiles: { certFile: string; keyFile: string; caFile: string };
  const running: { server: RpcServer; watcher: CertificateWatcher }[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rubato-rpc-tls-'));
    const authority = makeCa(join(dir, 'pki'));
    authority.issue('server', 'server');
    client = authority.issue('client', 'client');
    stranger = makeCa(join(dir, 'other'), 'other-ca').issue('stranger', 'client');
    ca = authority.cert;
    serverFiles = { certFile: join(dir, 'pki', 'server.crt'), keyFile: join(dir, 'pki', 'server.key'), caFile: authority.certFile };
  });

  after(async () => {
    for (const r of running) {
      await r.server.close();
      r.watcher.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  async function serve(clientAuth: ClientAuth): Promise<number> {
    const watcher = new CertificateWatcher(
      {
        listener: 'internal-grpc',
        certFile: serverFiles.certFile,
        keyFile: serverFiles.keyFile,
        clientCaFile: clientAuth === 'NoClientCert' ? '' : serverFiles.caFile,
        clientAuth,
        minVersion: 'TLSv1.2',
      },
      logger,
    );
    const server = await startIngesterRpcServer({
      host: '127.0.0.1',
      port: 0,
      maxRecvBytes: 1 << 20,
      maxSendBytes: 1 << 20,
      ingester: { push: async () => ({ rejectedSpans: 0, message: '' }), blocks: async () => [] },
      logger,
      tls: watcher,
    });
    running.push({ server, watcher });
    return server.port;
  }

  /** 'ok' when a FindTrace call got its (empty) answer, else the error message. */
  async function call(port: number, tls: GrpcClientTls | null): Promise<string> {
    const c = new IngesterClient(`127.0.0.1:${port}`, 1 << 20, tls);
    try {
      assert.deepEqual(await c.findTrace({ tenant: 't', traceId: TRACE_ID }, 5_000), []);
      return 'ok';
    } catch (err) {
      return (err as Error).message;
    } finally {
      c.close();
    }
  }

  const tls = (o: Partial<GrpcClientTls>): GrpcClientTls => ({ ca, cert: null, key: null, serverName: '', insecureSkipVerify: false, ...o });

  it('RequireAndVerifyClientCert: only a client certificate the CA signed gets in', async () => {
    const port = await serve('RequireAndVerifyClientCert');
    assert.equal(await call(port, tls({ cert: client.cert, key: client.key })), 'ok');
    assert.notEqual(await call(port, null), 'ok', 'plaintext client');
    assert.notEqual(await call(port, tls({})), 'ok', 'no client certificate');
    assert.notEqual(await call(port, tls({ cert: stranger.cert, key: stranger.key })), 'ok', 'certificate of another CA');
    assert.notEqual(await call(port, tls({ ca: null, cert: client.cert, key: client.key })), 'ok', 'server certificate not trusted (system CAs)');
    assert.equal(await call(port, tls({ ca: null, cert: client.cert, key: client.key, insecureSkipVerify: true })), 'ok', 'tls_insecure_skip_verify');
  });

  it('VerifyClientCertIfGiven: no certificate is fine, a bad one is not', async () => {
    const port = await serve('VerifyClientCertIfGiven');
    assert.equal(await call(port, tls({})), 'ok');
    assert.equal(await call(port, tls({ cert: client.cert, key: client.key })), 'ok');
    assert.notEqual(await call(port, tls({ cert: stranger.cert, key: stranger.key })), 'ok');
  });

  it('tls_server_name is the name the server certificate is checked against', async () => {
    const port = await serve('NoClientCert');
    assert.equal(await call(port, tls({ serverName: 'localhost' })), 'ok');
    assert.notEqual(await call(port, tls({ serverName: 'ingester.elsewhere' })), 'ok');
  });
});
