// Distributed mode with the single process's security (issue 12): a distributor, an ingester and a
// querier on etcd and MinIO, with TLS on the OTLP receivers and every HTTP port, access control and
// multitenancy on, and mTLS on the internal gRPC port. The OpenTelemetry SDK exporters send over TLS
// with a write token; the querier gives the traces back to a read token of the tenant, 401 without a
// token, 403 to another tenant's token; the ingester's internal port refuses a plaintext client and a
// TLS client without a certificate its CA signed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  credentials,
  loadPackageDefinition,
  Metadata,
  status,
  type ChannelCredentials,
  type Client as GrpcClient,
  type ClientReadableStream,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { hashToken } from '../../src/auth/token-hash.js';
import { IngesterClient } from '../../src/cluster/rpc.js';
import { assertSameTrace, type JsonResourceSpans } from '../support/compare.js';
import { makeCa } from '../support/certificates.js';
import { etcdBinary, startCluster, type Cluster, type ClusterNode } from '../support/cluster.js';
import { minioBinary } from '../support/minio.js';
import { projectRoot } from '../support/rubato-process.js';
import { byTrace, exportSpans, recordTraces } from '../support/otel-traces.js';

const peersMissing = etcdBinary() === null || minioBinary() === null;
const required = process.env['RUBATO_REQUIRE_CLUSTER'] === '1' || process.env['CI'] === 'true';
const skip = peersMissing && !required ? 'etcd or MinIO not installed (bash .ci/run installs both)' : false;

const TOKENS = { writer: 'writer-a-0123456789abcdef0123', readerA: 'reader-a-0123456789abcdef0123', readerB: 'reader-b-0123456789abcdef0123' } as const;
const TENANT = 'team-a';

function httpsGet(ca: Buffer, port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, ca, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitReadyOverTls(node: ClusterNode, ca: Buffer): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (node.proc.exitCode !== null) throw new Error(`${node.id} exited with ${node.proc.exitCode}:\n${node.output()}`);
    try {
      if ((await httpsGet(ca, node.httpPort, '/ready')).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${node.id} not ready over HTTPS:\n${node.output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('cluster with TLS, access control and internal mTLS: write and read with tokens, refusals', { skip, timeout: 300_000 }, async () => {
  const pki = mkdtempSync(join(tmpdir(), 'rubato-secure-cluster-'));
  let cluster: Cluster | null = null;
  try {
    const ca = makeCa(pki);
    ca.issue('server', 'server');
    const internalClient = ca.issue('internal-client', 'client');
    const file = (name: string): string => join(pki, name);
    const tokenLine = (name: string, token: string, rights: string, tenant: string): string =>
      `    - { name: ${name}, hash: "${hashToken(token)}", rights: [${rights}], tenants: [${tenant}] }`;
    cluster = await startCluster({
      replicationFactor: 1,
      server: [
        'http_tls_config:',
        `  cert_file: ${file('server.crt')}`,
        `  key_file: ${file('server.key')}`,
        'grpc_tls_config:',
        `  cert_file: ${file('server.crt')}`,
        `  key_file: ${file('server.key')}`,
        '  client_auth_type: RequireAndVerifyClientCert',
        `  client_ca_file: ${ca.certFile}`,
      ],
      grpcReceiver: ['tls:', `  cert_file: ${file('server.crt')}`, `  key_file: ${file('server.key')}`],
      httpReceiver: ['tls:', `  cert_file: ${file('server.crt')}`, `  key_file: ${file('server.key')}`],
      topLevel: [
        'multitenancy_enabled: true',
        'auth:',
        '  enabled: true',
        '  tokens:',
        tokenLine('writer', TOKENS.writer, 'write', TENANT),
        tokenLine('reader-a', TOKENS.readerA, 'read', TENANT),
        tokenLine('reader-b', TOKENS.readerB, 'read', 'team-b'),
        'ingester_client:',
        '  grpc_client_config:',
        '    tls_enabled: true',
        `    tls_ca_path: ${ca.certFile}`,
        `    tls_cert_path: ${file('internal-client.crt')}`,
        `    tls_key_path: ${file('internal-client.key')}`,
        // The frontend dials the queriers' HTTPS port trusting this CA; Grafana's streaming on its port.
        'querier:',
        '  frontend_worker:',
        '    grpc_client_config:',
        '      tls_enabled: true',
        `      tls_ca_path: ${ca.certFile}`,
        'stream_over_http_enabled: true',
      ],
    });
    const c = cluster;
    const ingester = await c.add('ingester', 'ingester-1');
    await waitReadyOverTls(ingester, ca.cert);
    const [distributor, querier, frontend] = await Promise.all([
      c.add('distributor', 'distributor-1'),
      c.add('querier', 'querier-1'),
      c.add('query-frontend', 'frontend-1'),
    ]);
    await Promise.all([waitReadyOverTls(distributor, ca.cert), waitReadyOverTls(querier, ca.cert), waitReadyOverTls(frontend, ca.cert)]);

    // Both receivers over TLS with a write token for the tenant: acknowledged (so pushed over mTLS).
    const md = new Metadata();
    md.set('x-scope-orgid', TENANT);
    md.set('authorization', `Bearer ${TOKENS.writer}`);
    const exporters: SpanExporter[] = [
      new GrpcExporter({
        url: `https://127.0.0.1:${distributor.otlpGrpcPort}`,
        credentials: credentials.createSsl(ca.cert),
        metadata: md,
        timeoutMillis: 10_000,
      }),
      new ProtoExporter({
        url: `https://127.0.0.1:${distributor.otlpHttpPort}/v1/traces`,
        headers: { 'X-Scope-OrgID': TENANT, Authorization: `Bearer ${TOKENS.writer}` },
        httpAgentOptions: { ca: ca.cert },
        timeoutMillis: 10_000,
      }),
    ];
    const traces = byTrace(await recordTraces(4, 'secure-cluster'));
    for (const [i, spans] of traces.entries()) assert.ok(await exportSpans(exporters[i % 2]!, spans), `trace ${i} acknowledged over TLS with a token`);
    // Without a token the receivers refuse: nothing reaches the ingesters.
    const anonymous = new GrpcExporter({
      url: `https://127.0.0.1:${distributor.otlpGrpcPort}`,
      credentials: credentials.createSsl(ca.cert),
      timeoutMillis: 10_000,
    });
    assert.equal(await exportSpans(anonymous, byTrace(await recordTraces(1, 'anonymous'))[0]!), false, 'push without a token refused');
    await Promise.all([...exporters, anonymous].map((e) => e.shutdown()));

    // Read back from the querier (recent data, from the ingester over mTLS) with a read token of the tenant.
    const asReader = (token: string) => ({ Authorization: `Bearer ${token}`, 'X-Scope-OrgID': TENANT });
    for (const spans of traces) {
      const id = spans[0]!.spanContext().traceId;
      const r = await httpsGet(ca.cert, querier.httpPort, `/api/traces/${id}`, asReader(TOKENS.readerA));
      assert.equal(r.status, 200, r.body);
      assertSameTrace((JSON.parse(r.body) as { batches: JsonResourceSpans[] }).batches, spans);
    }
    const someId = traces[0]![0]!.spanContext().traceId;
    const search = await httpsGet(
      ca.cert,
      querier.httpPort,
      `/api/search?q=${encodeURIComponent('{ resource.service.name = "secure-cluster" }')}`,
      asReader(TOKENS.readerA),
    );
    assert.equal(search.status, 200, search.body);
    assert.equal((JSON.parse(search.body) as { traces: unknown[] }).traces.length, traces.length);
    // No token: 401; a token of another tenant: 403 — on the querier's API and the other targets' ports.
    assert.equal((await httpsGet(ca.cert, querier.httpPort, `/api/traces/${someId}`, { 'X-Scope-OrgID': TENANT })).status, 401);
    assert.equal((await httpsGet(ca.cert, querier.httpPort, `/api/traces/${someId}`, asReader(TOKENS.readerB))).status, 403);
    assert.equal((await httpsGet(ca.cert, distributor.httpPort, '/ring')).status, 401, 'the ring page needs a token too');
    assert.equal((await httpsGet(ca.cert, distributor.httpPort, '/ring', { Authorization: `Bearer ${TOKENS.readerA}` })).status, 200);

    // Through the query frontend (Grafana's entry): HTTPS, the same tokens; its jobs reach the querier
    // over HTTPS with the caller's token, so a reader of the tenant gets the traces and no one else does.
    const viaFrontend = await httpsGet(
      ca.cert,
      frontend.httpPort,
      `/api/search?q=${encodeURIComponent('{ resource.service.name = "secure-cluster" }')}`,
      asReader(TOKENS.readerA),
    );
    assert.equal(viaFrontend.status, 200, viaFrontend.body);
    assert.equal((JSON.parse(viaFrontend.body) as { traces: unknown[] }).traces.length, traces.length);
    const byIdViaFrontend = await httpsGet(ca.cert, frontend.httpPort, `/api/traces/${someId}`, asReader(TOKENS.readerA));
    assert.equal(byIdViaFrontend.status, 200, byIdViaFrontend.body);
    assert.equal((await httpsGet(ca.cert, frontend.httpPort, `/api/search?q=${encodeURIComponent('{ }')}`, { 'X-Scope-OrgID': TENANT })).status, 401);
    assert.equal((await httpsGet(ca.cert, frontend.httpPort, `/api/traces/${someId}`, asReader(TOKENS.readerB))).status, 403);
    // Grafana's streaming search on the frontend's HTTPS port, with the token in the call's metadata.
    const def = loadSync(join(projectRoot, 'test', 'support', 'streaming-querier.proto'), { defaults: true });
    const pkg = loadPackageDefinition(def) as unknown as {
      tempopb: {
        StreamingQuerier: new (
          addr: string,
          creds: ChannelCredentials,
        ) => GrpcClient & Record<string, (req: object, md: Metadata) => ClientReadableStream<unknown>>;
      };
    };
    const streaming = new pkg.tempopb.StreamingQuerier(`localhost:${frontend.httpPort}`, credentials.createSsl(ca.cert));
    const streamSearch = (token: string | null): Promise<{ traces: unknown[] }[]> => {
      const smd = new Metadata();
      smd.set('x-scope-orgid', TENANT);
      if (token !== null) smd.set('authorization', `Bearer ${token}`);
      const call = streaming.Search!({ Query: '{ resource.service.name = "secure-cluster" }', Limit: 20 }, smd);
      const out: { traces: unknown[] }[] = [];
      return new Promise((resolve, reject) => {
        call.on('data', (m: { traces: unknown[] }) => out.push(m));
        call.on('error', reject);
        call.on('status', (st: { code: number }) => {
          if (st.code === status.OK) resolve(out);
        });
      });
    };
    try {
      const msgs = await streamSearch(TOKENS.readerA);
      assert.equal(
        new Set(msgs.flatMap((m) => m.traces.map((t) => (t as { traceID: string }).traceID))).size,
        traces.length,
        'streamed search finds every trace',
      );
      await assert.rejects(streamSearch(null), (err: { code?: number }) => err.code === status.UNAUTHENTICATED);
    } finally {
      streaming.close();
    }

    // The ingester's internal port: plaintext and certificate-less TLS clients are refused; the
    // configured client certificate gets the trace (so the refusals are about the credentials).
    const find = async (tls: ConstructorParameters<typeof IngesterClient>[2]): Promise<number | Error> => {
      const client = new IngesterClient(`127.0.0.1:${ingester.grpcPort}`, 1 << 24, tls);
      try {
        return (await client.findTrace({ tenant: TENANT, traceId: someId }, 5_000)).length;
      } catch (err) {
        return err as Error;
      } finally {
        client.close();
      }
    };
    const tls = { ca: ca.cert, cert: null, key: null, serverName: '', insecureSkipVerify: false };
    assert.ok((await find(null)) instanceof Error, 'plaintext internal client refused');
    assert.ok((await find(tls)) instanceof Error, 'internal client without a certificate refused');
    const found = await find({ ...tls, cert: internalClient.cert, key: internalClient.key });
    assert.ok(typeof found === 'number' && found > 0, `internal client with the CA's certificate reads the trace: ${String(found)}`);
  } catch (err) {
    if (cluster !== null) for (const n of cluster.nodes) process.stderr.write(`--- ${n.id} ---\n${n.output().slice(-3000)}\n`);
    throw err;
  } finally {
    await cluster?.stopAll();
    rmSync(pki, { recursive: true, force: true });
  }
});
