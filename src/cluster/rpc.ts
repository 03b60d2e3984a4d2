/**
 * The internal gRPC API of distributed mode, on server.grpc_listen_port: distributors push to
 * ingesters, queriers read the ingesters' recent data. Messages are bytes the project already has
 * codecs for — a push is the OTLP ExportTraceServiceRequest as received (the WAL's own record), a
 * trace is an encoded tempopb.Trace — in length-prefixed frames, with small JSON headers for
 * requests, so no second protobuf schema has to be kept in step with the first.
 */
import {
  Metadata,
  Server,
  ServerCredentials,
  makeGenericClientConstructor,
  status,
  type Client,
  type ServiceDefinition,
  type ServiceError,
  type handleServerStreamingCall,
  type handleUnaryCall,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { BlockSource } from '../block/block.js';
import type { TraceRecord } from '../model/trace-record.js';
import { PushError, type Pusher, type PushErrorKind, type PushResult } from '../model/pusher.js';
import { decodeExportRequest } from '../otlp/decode-request.js';
import type { CertificateWatcher } from '../tls/certificate-watcher.js';
import { grpcClientCredentials, listenGrpcOverTls } from '../tls/grpc-credentials.js';
import type { GrpcClientTls } from '../tls/settings.js';

const identity = (b: Buffer): Buffer => b;

/** The service's methods; requests and answers are raw buffers (see the framing below). */
const INGESTER_SERVICE = {
  push: {
    path: '/rubato.cluster.Ingester/Push',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
  findTrace: {
    path: '/rubato.cluster.Ingester/FindTrace',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
  recentTraces: {
    path: '/rubato.cluster.Ingester/RecentTraces',
    requestStream: false,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
} satisfies ServiceDefinition;

// ------------------------------------------------------------------------------------------ framing

/** Frames: each a uint32 (big endian) length then its bytes. */
export function encodeFrames(parts: readonly Uint8Array[]): Buffer {
  let size = 0;
  for (const p of parts) size += 4 + p.byteLength;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const p of parts) {
    out.writeUInt32BE(p.byteLength, at);
    out.set(p, at + 4);
    at += 4 + p.byteLength;
  }
  return out;
}

export function decodeFrames(buf: Buffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < buf.length) {
    if (at + 4 > buf.length) throw new Error('truncated frame header');
    const len = buf.readUInt32BE(at);
    if (at + 4 + len > buf.length) throw new Error('truncated frame');
    out.push(buf.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}

interface ReadRequest {
  readonly tenant: string;
  readonly traceId?: string;
  readonly startMs?: number;
  readonly endMs?: number;
}

function parseReadRequest(buf: Buffer): ReadRequest {
  const v = JSON.parse(buf.toString('utf8')) as Partial<ReadRequest>;
  if (typeof v.tenant !== 'string') throw new Error('tenant missing');
  return v as ReadRequest;
}

// Push errors travel as gRPC codes with the kind in trailing metadata, so the distributor answers its
// client as the ingester would have (429 stays 429, 400 stays 400).
const KIND_KEY = 'rubato-push-error';
const KIND_CODE: Record<PushErrorKind, status> = {
  invalid: status.INVALID_ARGUMENT,
  too_large: status.RESOURCE_EXHAUSTED,
  rate_limited: status.RESOURCE_EXHAUSTED,
  unavailable: status.UNAVAILABLE,
};

function rangeOf(req: ReadRequest): { startMs?: number; endMs?: number } {
  return { ...(req.startMs !== undefined ? { startMs: req.startMs } : {}), ...(req.endMs !== undefined ? { endMs: req.endMs } : {}) };
}

/** Records per streamed message: big enough to amortise framing, small enough to stay under message limits. */
const RECORDS_PER_MESSAGE = 256;

export interface IngesterRpcServerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxRecvBytes: number;
  readonly maxSendBytes: number;
  /** The ingester: takes pushes, and holds recent data as blocks. */
  readonly ingester: Pusher & BlockSource;
  readonly logger: Logger;
  /** TLS (server.grpc_tls_config, any client-auth mode) with a certificate that follows the files. Default: plaintext. */
  readonly tls?: CertificateWatcher;
}

export interface RpcServer {
  readonly port: number;
  close(): Promise<void>;
}

/** The ingester's side: Push (acknowledged after the WAL fsync, as every push), FindTrace, RecentTraces. */
export async function startIngesterRpcServer(opts: IngesterRpcServerOptions): Promise<RpcServer> {
  const { ingester, logger } = opts;
  const push: handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    const tenant = call.metadata.get('x-scope-orgid')[0];
    if (typeof tenant !== 'string' || tenant === '') {
      callback({ code: status.INVALID_ARGUMENT, details: 'tenant missing' });
      return;
    }
    let batch: ReturnType<typeof decodeExportRequest>;
    try {
      batch = decodeExportRequest(call.request, tenant);
    } catch (err) {
      callback({ code: status.INVALID_ARGUMENT, details: `undecodable push: ${String(err)}` });
      return;
    }
    ingester.push(batch).then(
      (r) => callback(null, Buffer.from(JSON.stringify({ rejectedSpans: r.rejectedSpans, message: r.message }))),
      (err: unknown) => {
        const md = new Metadata();
        if (err instanceof PushError) {
          md.set(KIND_KEY, err.kind);
          callback({ code: KIND_CODE[err.kind], details: err.message, metadata: md });
        } else {
          logger.error({ err }, 'internal push failed');
          callback({ code: status.INTERNAL, details: 'push failed' });
        }
      },
    );
  };
  const findTrace: handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    void (async () => {
      const req = parseReadRequest(call.request);
      if (typeof req.traceId !== 'string') throw new Error('traceId missing');
      const blocks = await ingester.blocks(req.tenant, rangeOf(req));
      const parts = (await Promise.all(blocks.map((b) => b.findTrace(req.traceId as string)))).flat();
      return encodeFrames(parts);
    })().then(
      (buf) => callback(null, buf),
      (err: unknown) => callback({ code: status.INTERNAL, details: String(err) }),
    );
  };
  const recentTraces: handleServerStreamingCall<Buffer, Buffer> = (call) => {
    void (async () => {
      const req = parseReadRequest(call.request);
      const blocks = await ingester.blocks(req.tenant, rangeOf(req));
      let parts: Uint8Array[] = [];
      for (const b of blocks) {
        for await (const rec of b.traces()) {
          if (call.cancelled) return;
          parts.push(Buffer.from(rec.traceId, 'hex'), rec.trace);
          if (parts.length >= 2 * RECORDS_PER_MESSAGE) {
            // Respect the client's pace: wait for the stream to drain before reading more.
            if (!call.write(encodeFrames(parts))) await new Promise((r) => call.once('drain', r));
            parts = [];
          }
        }
      }
      if (parts.length > 0) call.write(encodeFrames(parts));
    })().then(
      () => call.end(),
      (err: unknown) => {
        logger.warn({ err: String(err) }, 'streaming recent traces failed');
        call.destroy(Object.assign(new Error(String(err)), { code: status.INTERNAL }));
      },
    );
  };

  const server = new Server({
    'grpc.max_receive_message_length': opts.maxRecvBytes,
    'grpc.max_send_message_length': opts.maxSendBytes,
  });
  server.addService(INGESTER_SERVICE, { push, findTrace, recentTraces });
  const host = opts.host === '' ? '0.0.0.0' : opts.host;
  const secured = opts.tls === undefined ? null : await listenGrpcOverTls(server, host, opts.port, opts.tls, logger);
  const port =
    secured?.port ??
    (await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host}:${opts.port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    }));
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        secured?.close();
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 5_000).unref();
      }),
  };
}

// ------------------------------------------------------------------------------------------- client

const IngesterClientCtor = makeGenericClientConstructor(INGESTER_SERVICE, 'rubato.cluster.Ingester');

interface RawClient extends Client {
  push(req: Buffer, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res?: Buffer) => void): void;
  findTrace(req: Buffer, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res?: Buffer) => void): void;
  recentTraces(req: Buffer, md: Metadata, opts: { deadline: number }): NodeJS.ReadableStream & { cancel(): void };
}

/** A connection to one ingester's internal API. */
export class IngesterClient {
  private readonly raw: RawClient;

  constructor(
    readonly addr: string,
    maxMessageBytes: number,
    /** TLS per ingester_client (or metrics_generator_client).grpc_client_config; null: plaintext. */
    tls: GrpcClientTls | null = null,
  ) {
    const channel = grpcClientCredentials(tls);
    this.raw = new IngesterClientCtor(addr, channel.credentials, {
      ...channel.options,
      'grpc.max_receive_message_length': maxMessageBytes,
      'grpc.max_send_message_length': maxMessageBytes,
      // A dead ingester must fail fast, not be retried for a minute.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2_000,
    }) as unknown as RawClient;
  }

  /** Pushes an encoded ExportTraceServiceRequest; rejects with a PushError. */
  push(tenant: string, payload: Uint8Array, timeoutMs: number): Promise<PushResult> {
    const md = new Metadata();
    md.set('x-scope-orgid', tenant);
    const req = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    return new Promise((resolve, reject) => {
      this.raw.push(req, md, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err !== null) {
          const kind = err.metadata?.get(KIND_KEY)[0];
          const known = kind === 'invalid' || kind === 'too_large' || kind === 'rate_limited' || kind === 'unavailable';
          reject(new PushError(known ? kind : 'unavailable', `ingester ${this.addr}: ${err.details || err.message}`));
          return;
        }
        const r = JSON.parse((res ?? Buffer.from('{}')).toString('utf8')) as Partial<PushResult>;
        resolve({ rejectedSpans: r.rejectedSpans ?? 0, message: r.message ?? '' });
      });
    });
  }

  findTrace(req: ReadRequest, timeoutMs: number): Promise<Uint8Array[]> {
    return new Promise((resolve, reject) => {
      this.raw.findTrace(Buffer.from(JSON.stringify(req)), new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err !== null) reject(new Error(`ingester ${this.addr}: ${err.details || err.message}`));
        else resolve(decodeFrames(res ?? Buffer.alloc(0)));
      });
    });
  }

  /** Every trace of the ingester's recent data overlapping the range. */
  async *recentTraces(req: ReadRequest, timeoutMs: number): AsyncGenerator<TraceRecord[]> {
    const stream = this.raw.recentTraces(Buffer.from(JSON.stringify(req)), new Metadata(), { deadline: Date.now() + timeoutMs });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        const frames = decodeFrames(chunk);
        const batch: TraceRecord[] = [];
        for (let i = 0; i + 1 < frames.length; i += 2) batch.push({ traceId: Buffer.from(frames[i]!).toString('hex'), trace: frames[i + 1]! });
        yield batch;
      }
    } finally {
      stream.cancel();
    }
  }

  close(): void {
    this.raw.close();
  }
}
