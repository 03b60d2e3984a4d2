/**
 * The receivers under hostile load, against a real server process: the shared in-flight byte budget
 * (429 / RESOURCE_EXHAUSTED before bodies are read), size limits the client can read (413), idle
 * timeouts and connection caps on every listener, and /ready only once the OTLP ports accept.
 * The server's `server:` and `distributor:` keys are set here, so the config is written by this file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { connect as http2Connect } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { freePort } from '../support/ports.js';
import { spawnRubato, writeRubatoConfig } from '../support/rubato-process.js';
import { encodeRequest, makeSpans } from '../support/receiver-fixtures.js';

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const MiB = 1024 * 1024;

interface Server {
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly otlpHttpPort: number;
  readonly proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts rubato with extra lines under `server:` and `distributor:`; does not wait for /ready. */
async function startServer(lines: { server?: string[]; distributor?: string[] }): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'rubato-hardening-'));
  const [httpPort, grpcPort, otlpHttpPort] = [await freePort(), await freePort(), await freePort()];
  const path = writeRubatoConfig(dir, { httpPort, grpcPort, otlpHttpPort }, { logLevel: 'warn' });
  const indent = (ls: string[] | undefined): string => (ls ?? []).map((l) => `  ${l}\n`).join('');
  writeFileSync(
    path,
    readFileSync(path, 'utf8')
      .replace(/^server:\n/m, `server:\n${indent(lines.server)}`)
      .replace(/^distributor:\n/m, `distributor:\n${indent(lines.distributor)}`),
  );
  const rubato = spawnRubato(path);
  return {
    httpPort,
    grpcPort,
    otlpHttpPort,
    proc: rubato.proc,
    output: rubato.output,
    async stop() {
      await rubato.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** GET /ready on a connection of its own that is closed after the answer (fetch would keep it pooled); 0 when refused. */
function readyStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = httpGet({ host: '127.0.0.1', port, path: '/ready', agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', () => resolve(0));
  });
}

async function waitReady(s: Server): Promise<void> {
  while ((await readyStatus(s.httpPort)) !== 200) {
    if (s.proc.exitCode !== null) throw new Error(`rubato exited:\n${s.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A TCP connection, resolved once connected. */
function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Resolves when the server closes the socket (end, reset or close). */
function closedByServer(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve();
    s.on('error', () => undefined);
    s.once('close', () => resolve());
    // Read (and drop) what the server sends, such as HTTP/2 settings, so its end is seen.
    s.resume();
  });
}

function postTraces(port: number, body: Uint8Array, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/v1/traces`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/x-protobuf', ...headers },
  });
}

/** An ExportTraceServiceRequest of `traces` fresh traces of 2 spans. */
async function smallRequest(traces: number): Promise<Buffer> {
  return encodeRequest(await makeSpans(traces, 2));
}

/** A valid ExportTraceServiceRequest of ~`bytes` that gzips ~100×: one small request repeated (repeated fields merge). */
async function compressibleRequest(bytes: number): Promise<Buffer> {
  const unit = await smallRequest(5);
  return Buffer.concat(Array.from({ length: Math.ceil(bytes / unit.length) }, () => unit));
}

/** Starts a POST announcing `length` bytes and sends only its headers: it holds its reservation, sending nothing. */
async function stalledPost(port: number, length: number): Promise<Socket> {
  const s = await openSocket(port);
  s.on('error', () => undefined);
  s.write(`POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\nContent-Length: ${length}\r\n\r\n`);
  return s;
}

function grpcExport(client: Client, body: Buffer): Promise<ServiceError | null> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      EXPORT_PATH,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      new Metadata(),
      (err) => resolve(err ?? null),
    );
  });
}

async function metric(port: number, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = pattern.exec(text);
  return m === null ? 0 : Number(m[1]);
}

describe('in-flight byte budget and size limits', () => {
  let s: Server;
  before(async () => {
    s = await startServer({ distributor: ['max_inflight_bytes: 8MiB'] });
    await waitReady(s);
  });
  after(async () => {
    await s.stop();
  });

  test('with the budget held, concurrent gzip POSTs get 429 with Retry-After, gRPC gets RESOURCE_EXHAUSTED, and the server serves again once it is free', async (t) => {
    // Eight uploads announcing 1 MiB each and sending nothing hold the whole 8 MiB budget.
    const stalled: Socket[] = [];
    t.after(() => {
      for (const st of stalled) st.destroy();
    });
    for (let i = 0; i < 8; i++) stalled.push(await stalledPost(s.otlpHttpPort, MiB));
    const raw = await compressibleRequest(3.9e6);
    const gz = gzipSync(raw);
    assert.ok(gz.length < raw.length / 20, `gzip ${gz.length} of ${raw.length}`);

    const answers = await Promise.all(Array.from({ length: 32 }, () => postTraces(s.otlpHttpPort, gz, { 'content-encoding': 'gzip' })));
    for (const r of answers) {
      const text = await r.text();
      assert.equal(r.status, 429, text);
      assert.ok(Number(r.headers.get('retry-after')) > 0);
      assert.match(text, /in flight/);
    }

    // The budget is shared: gRPC is refused too, with RetryInfo so Collectors retry.
    const client = new Client(`127.0.0.1:${s.grpcPort}`, credentials.createInsecure());
    const err = await grpcExport(client, await smallRequest(3));
    assert.equal(err?.code, 8, String(err));
    assert.ok(err?.metadata.get('grpc-status-details-bin').length === 1, 'RetryInfo detail');

    assert.ok((await metric(s.httpPort, /^rubato_receiver_refused_requests_total\{transport="http",reason="inflight_bytes"\} (\d+)/m)) >= 32);
    assert.ok((await metric(s.httpPort, /^rubato_receiver_refused_requests_total\{transport="grpc",reason="inflight_bytes"\} (\d+)/m)) >= 1);

    for (const st of stalled) st.destroy();
    await Promise.all(stalled.map(closedByServer));
    // The budget comes back when those requests end; then the same bodies are accepted.
    let ok: Response | undefined;
    for (let i = 0; i < 50 && ok?.status !== 200; i++) {
      ok = await postTraces(s.otlpHttpPort, gz, { 'content-encoding': 'gzip' });
      await ok.arrayBuffer();
    }
    assert.equal(ok?.status, 200);
    assert.equal(await grpcExport(client, await smallRequest(3)), null);
    client.close();
  });

  test('a flood of concurrent gzip POSTs is answered 200 or 429, never dropped, and the server stays up', async () => {
    // Distinct traces in each body, so no trace outgrows max_bytes_per_trace across requests.
    const bodies: Buffer[] = [];
    for (let i = 0; i < 64; i++) bodies.push(gzipSync(await compressibleRequest(3.9e6)));
    const answers = await Promise.all(
      bodies.map(async (gz) => {
        const r = await postTraces(s.otlpHttpPort, gz, { 'content-encoding': 'gzip' });
        await r.arrayBuffer();
        return r.status;
      }),
    );
    for (const st of answers) assert.ok(st === 200 || st === 429, `status ${st}`);
    assert.equal((await fetch(`http://127.0.0.1:${s.httpPort}/ready`)).status, 200);
  });

  test('a gzip bomb gets 413', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * MiB));
    const r = await postTraces(s.otlpHttpPort, bomb, { 'content-encoding': 'gzip' });
    assert.equal(r.status, 413);
    assert.match(await r.text(), /decompressed body exceeds/);
  });

  test('a 100 MB body with Content-Length gets a 413 the client can read', async () => {
    const r = await postTraces(s.otlpHttpPort, Buffer.alloc(100_000_000));
    assert.equal(r.status, 413);
    assert.match(await r.text(), /larger than the limit/);
    // The server is still there for the next request.
    const ok = await postTraces(s.otlpHttpPort, await smallRequest(2));
    assert.equal(ok.status, 200);
  });
});

describe('connections', () => {
  test('idle connections are closed after the idle timeout on every listener', async () => {
    const s = await startServer({ server: ['http_server_idle_timeout: 1s', 'grpc_server_max_connection_idle: 1s'] });
    try {
      await waitReady(s);
      // Connections that never send a byte, as half-open or abandoned clients leave them.
      const silent = await Promise.all([s.httpPort, s.otlpHttpPort, s.grpcPort].map(openSocket));
      // An HTTP/2 client that made a call and then stays idle is sent GOAWAY and closed.
      const session = http2Connect(`http://127.0.0.1:${s.grpcPort}`);
      session.on('error', () => undefined);
      const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
      const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
      await Promise.all([...silent.map(closedByServer), goaway, closed]);
      // A kept-alive HTTP connection that answered a request is closed too (fetch's pool reconnects).
      assert.equal((await fetch(`http://127.0.0.1:${s.httpPort}/ready`)).status, 200);
    } finally {
      await s.stop();
    }
  });

  test('a connection cap is enforced on every listener', async () => {
    const s = await startServer({ server: ['http_listen_conn_limit: 4', 'grpc_listen_conn_limit: 4'] });
    try {
      await waitReady(s);
      for (const port of [s.otlpHttpPort, s.grpcPort, s.httpPort]) {
        const held: Socket[] = [];
        try {
          for (let i = 0; i < 4; i++) held.push(await openSocket(port));
          const extra = await openSocket(port);
          held.push(extra);
          await closedByServer(extra);
          // The server closed the fifth, not one of the four it already had.
          assert.ok(
            held.slice(0, 4).every((h) => !h.destroyed),
            `port ${port}: a held connection was closed`,
          );
        } finally {
          for (const h of held) h.destroy();
        }
      }
      // Once the connections are gone, new clients are served.
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        try {
          status = (await postTraces(s.otlpHttpPort, await smallRequest(2))).status;
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      assert.equal(status, 200);
      const client = new Client(`127.0.0.1:${s.grpcPort}`, credentials.createInsecure());
      assert.equal(await grpcExport(client, await smallRequest(2)), null);
      client.close();
    } finally {
      await s.stop();
    }
  });

  test('/ready answers 200 only once both OTLP ports accept connections', async () => {
    const s = await startServer({});
    try {
      for (;;) {
        if (s.proc.exitCode !== null) throw new Error(`rubato exited:\n${s.output()}`);
        if ((await readyStatus(s.httpPort)) === 200) break;
        await new Promise((r) => setTimeout(r, 1));
      }
      // No retry: at the first 200 both receivers must already be listening.
      const sockets = await Promise.all([openSocket(s.grpcPort), openSocket(s.otlpHttpPort)]);
      for (const so of sockets) so.destroy();
    } finally {
      await s.stop();
    }
  });
});
