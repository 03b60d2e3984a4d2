/**
 * TLS on every listener of a real server process, with certificates made by openssl: the
 * OpenTelemetry SDK's gRPC and HTTP exporters deliver over TLS and mTLS, the API answers over HTTPS,
 * plaintext clients and clients without a certificate (under mTLS) are refused, and rotating the
 * certificate files changes the served certificate without a restart while a bad file keeps the
 * previous one.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { credentials, loadPackageDefinition, type ChannelCredentials, type Client as GrpcClient, type ClientReadableStream } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { X509Certificate } from 'node:crypto';
import { freePort } from '../support/ports.js';
import { projectRoot, spawnRubato, writeRubatoConfig } from '../support/rubato-process.js';
import { exportTraces, ResultRecordingExporter } from '../support/receiver-fixtures.js';
import { makeCa, secretVolume, type Pem, type SecretVolume, type TestCa } from '../support/certificates.js';

interface Client {
  readonly ca: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

interface TlsServer {
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly otlpHttpPort: number;
  output(): string;
  stop(): Promise<void>;
}

/** The server's answer to an HTTPS GET, or the connection error when it refused the client. */
function httpsGet(port: number, path: string, client: Client): Promise<{ status: number; body: string } | Error> {
  return new Promise((resolve) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, agent: false, ...client }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (err) => resolve(err));
    });
    req.on('error', (err) => resolve(err));
    req.end();
  });
}

/** Fingerprint of the certificate a TLS port serves right now (a new connection each time). */
function servedFingerprint(port: number, ca: Buffer, alpn: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: [alpn] }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.destroy();
      resolve(new X509Certificate(raw).fingerprint256);
    });
    socket.once('error', reject);
  });
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 25_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`${what}: not within ${timeoutMs} ms`);
}

interface TlsFiles {
  readonly cert: string;
  readonly key: string;
}

/** Starts rubato with the API and both OTLP receivers on TLS; `clientCa` turns on mTLS everywhere. */
async function startTlsServer(
  dir: string,
  files: { api: TlsFiles; grpc: TlsFiles; http: TlsFiles },
  clientCa: string | null,
  extraYaml = '',
): Promise<TlsServer> {
  const [httpPort, grpcPort, otlpHttpPort] = [await freePort(), await freePort(), await freePort()];
  const path = writeRubatoConfig(dir, { httpPort, grpcPort, otlpHttpPort }, { logLevel: 'info', extraYaml });
  const apiTls = [
    '  http_tls_config:',
    `    cert_file: ${files.api.cert}`,
    `    key_file: ${files.api.key}`,
    ...(clientCa !== null ? ['    client_auth_type: RequireAndVerifyClientCert', `    client_ca_file: ${clientCa}`] : []),
  ];
  const receiverTls = (f: TlsFiles): string[] => [
    '          tls:',
    `            cert_file: ${f.cert}`,
    `            key_file: ${f.key}`,
    '            min_version: "1.2"',
    ...(clientCa !== null ? [`            client_ca_file: ${clientCa}`] : []),
  ];
  const yaml = readFileSync(path, 'utf8')
    .replace(/^server:\n/m, `server:\n${apiTls.join('\n')}\n`)
    .replace(`          endpoint: 127.0.0.1:${grpcPort}\n`, `          endpoint: 127.0.0.1:${grpcPort}\n${receiverTls(files.grpc).join('\n')}\n`)
    .replace(`          endpoint: 127.0.0.1:${otlpHttpPort}\n`, `          endpoint: 127.0.0.1:${otlpHttpPort}\n${receiverTls(files.http).join('\n')}\n`);
  writeFileSync(path, yaml);
  const rubato = spawnRubato(path);
  return {
    httpPort,
    grpcPort,
    otlpHttpPort,
    output: rubato.output,
    async stop() {
      await rubato.stop();
    },
  };
}

async function waitReady(s: TlsServer, client: Client): Promise<void> {
  await eventually(
    `rubato ready over HTTPS\n${s.output()}`,
    async () => {
      const r = await httpsGet(s.httpPort, '/ready', client);
      return !(r instanceof Error) && r.status === 200;
    },
    90_000,
  );
}

function grpcExporter(port: number, client: Client): GrpcExporter {
  return new GrpcExporter({
    url: `https://127.0.0.1:${port}`,
    credentials: credentials.createSsl(client.ca, client.key ?? null, client.cert ?? null),
    timeoutMillis: 5000,
  });
}

function httpExporter(port: number, client: Client): ProtoExporter {
  return new ProtoExporter({ url: `https://127.0.0.1:${port}/v1/traces`, httpAgentOptions: { ...client }, timeoutMillis: 5000 });
}

/** Exports 2 traces through `exporter`: whether every export succeeded, and the trace IDs. */
async function send(exporter: ResultRecordingExporter): Promise<{ ok: boolean; ids: string[] }> {
  try {
    const ids = await exportTraces(exporter, 2, 3);
    return { ok: exporter.results.length > 0 && exporter.results.every((r) => r.code === 0), ids };
  } catch {
    // The SDK's flush rejects when its export failed: exactly what a refused client sees.
    return { ok: false, ids: [] };
  }
}

async function assertStored(s: TlsServer, client: Client, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    await eventually(`trace ${id} readable over HTTPS`, async () => {
      const r = await httpsGet(s.httpPort, `/api/traces/${id}`, client);
      return !(r instanceof Error) && r.status === 200 && r.body.includes('batches');
    });
  }
}

async function metric(s: TlsServer, client: Client, re: RegExp): Promise<number> {
  const r = await httpsGet(s.httpPort, '/metrics', client);
  if (r instanceof Error) throw r;
  return Number(re.exec(r.body)?.[1] ?? 0);
}

describe('TLS without client certificates', () => {
  let dir: string;
  let ca: TestCa;
  let server: TlsServer;
  let apiVolume: SecretVolume;
  let grpcFiles: TlsFiles;
  let client: Client;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rubato-tls-'));
    ca = makeCa(join(dir, 'pki'));
    const first = ca.issue('server-1', 'server');
    apiVolume = secretVolume(join(dir, 'api-tls'), first);
    // The gRPC receiver's files are plain files rewritten in place, the other way rotations happen.
    grpcFiles = { cert: join(dir, 'pki', 'server-1.crt'), key: join(dir, 'pki', 'server-1.key') };
    const httpPair = ca.issue('server-http', 'server');
    server = await startTlsServer(
      dir,
      {
        api: { cert: apiVolume.certFile, key: apiVolume.keyFile },
        grpc: grpcFiles,
        http: { cert: join(dir, 'pki', 'server-http.crt'), key: join(dir, 'pki', 'server-http.key') },
      },
      null,
      // Grafana's streaming shares the HTTPS port: ALPN h2 goes to gRPC, http/1.1 to the API.
      'stream_over_http_enabled: true',
    );
    client = { ca: ca.cert };
    await waitReady(server, client);
    assert.ok(httpPair.fingerprint.length > 0);
  });

  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the SDK gRPC and HTTP exporters deliver over TLS, and the API answers over HTTPS', async () => {
    const viaGrpc = await send(new ResultRecordingExporter(grpcExporter(server.grpcPort, client)));
    assert.ok(viaGrpc.ok, 'gRPC export over TLS');
    const viaHttp = await send(new ResultRecordingExporter(httpExporter(server.otlpHttpPort, client)));
    assert.ok(viaHttp.ok, 'HTTP export over TLS');
    await assertStored(server, client, [...viaGrpc.ids, ...viaHttp.ids]);
    const echo = await httpsGet(server.httpPort, '/api/echo', client);
    assert.ok(!(echo instanceof Error) && echo.status === 200);
  });

  test("Grafana's streaming gRPC answers on the HTTPS API port (ALPN h2) beside HTTP/1.1", async () => {
    const def = loadSync(join(projectRoot, 'test', 'support', 'streaming-querier.proto'), { defaults: true });
    const pkg = loadPackageDefinition(def) as unknown as {
      tempopb: {
        StreamingQuerier: new (addr: string, creds: ChannelCredentials) => GrpcClient & Record<string, (req: object) => ClientReadableStream<unknown>>;
      };
    };
    const streaming = new pkg.tempopb.StreamingQuerier(`localhost:${server.httpPort}`, credentials.createSsl(ca.cert));
    try {
      const tags = await new Promise<{ tagNames: string[] }[]>((resolve, reject) => {
        const out: { tagNames: string[] }[] = [];
        const call = streaming.SearchTags!({});
        call.on('data', (m: { tagNames: string[] }) => out.push(m));
        call.on('error', reject);
        call.on('end', () => resolve(out));
      });
      assert.ok(tags.length >= 1 && Array.isArray(tags.at(-1)!.tagNames), JSON.stringify(tags));
    } finally {
      streaming.close();
    }
    const ready = await httpsGet(server.httpPort, '/ready', client);
    assert.ok(!(ready instanceof Error) && ready.status === 200, 'HTTP/1.1 still answers on the same port');
  });

  test('plaintext clients are refused on every port', async () => {
    await assert.rejects(fetch(`http://127.0.0.1:${server.httpPort}/ready`), 'plain HTTP to the API');
    await assert.rejects(fetch(`http://127.0.0.1:${server.otlpHttpPort}/v1/traces`, { method: 'POST', body: '' }), 'plain HTTP to OTLP/HTTP');
    const plainGrpc = new ResultRecordingExporter(
      new GrpcExporter({ url: `http://127.0.0.1:${server.grpcPort}`, credentials: credentials.createInsecure(), timeoutMillis: 5000 }),
    );
    assert.equal((await send(plainGrpc)).ok, false, 'plaintext gRPC export');
    // A client that does not trust the server's CA does not get in either.
    const untrusted = await httpsGet(server.httpPort, '/ready', { ca: makeCa(join(dir, 'other-pki'), 'other-ca').cert });
    assert.ok(untrusted instanceof Error);
    assert.ok((await metric(server, client, /^rubato_tls_refused_connections_total\{listener="api",reason="handshake"\} (\d+)/m)) >= 1);
  });

  test('rotated certificate files are served without a restart; a bad file keeps the previous certificate', async () => {
    const before = await servedFingerprint(server.httpPort, ca.cert, 'http/1.1');
    // Kubernetes secret volume: kubelet swaps the ..data symlink.
    const next = ca.issue('server-2', 'server');
    apiVolume.rotate(next);
    await eventually('API serves the rotated certificate', async () => (await servedFingerprint(server.httpPort, ca.cert, 'http/1.1')) === next.fingerprint);
    assert.notEqual(before, next.fingerprint);

    // In-place rewrite of the gRPC receiver's files.
    const grpcNext: Pem = ca.issue('server-3', 'server');
    writeFileSync(grpcFiles.key, grpcNext.key);
    writeFileSync(grpcFiles.cert, grpcNext.cert);
    await eventually(
      'OTLP/gRPC serves the rotated certificate',
      async () => (await servedFingerprint(server.grpcPort, ca.cert, 'h2')) === grpcNext.fingerprint,
    );
    const viaGrpc = await send(new ResultRecordingExporter(grpcExporter(server.grpcPort, client)));
    assert.ok(viaGrpc.ok, 'gRPC export after the rotation');

    // A broken rotation: a key that does not belong to the certificate. The old pair stays in use.
    const stray = ca.issue('stray', 'server');
    apiVolume.rotate({ cert: ca.issue('server-4', 'server').cert, key: stray.key });
    await eventually(
      'the refused reload is counted',
      async () => (await metric(server, client, /^rubato_tls_certificate_reloads_total\{listener="api",result="failure"\} (\d+)/m)) >= 1,
    );
    assert.equal(await servedFingerprint(server.httpPort, ca.cert, 'http/1.1'), next.fingerprint);
    assert.match(server.output(), /cannot be used; still serving the previous certificate/);
    const ok = await httpsGet(server.httpPort, '/ready', client);
    assert.ok(!(ok instanceof Error) && ok.status === 200);
  });
});

describe('mTLS (RequireAndVerifyClientCert, receivers with client_ca_file)', () => {
  let dir: string;
  let server: TlsServer;
  let withCert: Client;
  let withoutCert: Client;
  let strangerCert: Client;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rubato-mtls-'));
    const ca = makeCa(join(dir, 'pki'));
    ca.issue('server', 'server');
    const files = { cert: join(dir, 'pki', 'server.crt'), key: join(dir, 'pki', 'server.key') };
    const clientPair = ca.issue('client', 'client');
    const stranger = makeCa(join(dir, 'stranger-pki'), 'stranger-ca').issue('stranger', 'client');
    server = await startTlsServer(dir, { api: files, grpc: files, http: files }, ca.certFile);
    withCert = { ca: ca.cert, cert: clientPair.cert, key: clientPair.key };
    withoutCert = { ca: ca.cert };
    strangerCert = { ca: ca.cert, cert: stranger.cert, key: stranger.key };
    await waitReady(server, withCert);
  });

  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('clients with a certificate the CA signed deliver and read', async () => {
    const viaGrpc = await send(new ResultRecordingExporter(grpcExporter(server.grpcPort, withCert)));
    assert.ok(viaGrpc.ok, 'gRPC export over mTLS');
    const viaHttp = await send(new ResultRecordingExporter(httpExporter(server.otlpHttpPort, withCert)));
    assert.ok(viaHttp.ok, 'HTTP export over mTLS');
    await assertStored(server, withCert, [...viaGrpc.ids, ...viaHttp.ids]);
  });

  test('clients without a certificate, or with one another CA signed, are refused on every port', async () => {
    for (const client of [withoutCert, strangerCert]) {
      assert.ok((await httpsGet(server.httpPort, '/ready', client)) instanceof Error, 'API');
      assert.equal((await send(new ResultRecordingExporter(grpcExporter(server.grpcPort, client)))).ok, false, 'OTLP/gRPC');
      assert.equal((await send(new ResultRecordingExporter(httpExporter(server.otlpHttpPort, client)))).ok, false, 'OTLP/HTTP');
    }
  });
});
