import { createServer, type Server as NetServer } from 'node:net';
import { Metadata, Server, ServerCredentials, ServerInterceptingCall, status } from '@grpc/grpc-js';
import type { sendUnaryData, ServerInterceptor, ServerUnaryCall, ServiceDefinition, ServiceError, StatusObject } from '@grpc/grpc-js';
import type { Pusher } from '../model/pusher.js';
import { decodeExportRequest } from '../otlp/decode-request.js';
import { encodeExportResponse } from '../otlp/export-response.js';
import { classifyFailure } from './failure.js';
import { consoleLogger } from './logger.js';
import type { WarnLogger } from '../model/logger.js';
import { parseEndpoint } from './endpoint.js';
import { encodeStatusWithRetryInfo } from './retry-status.js';
import { countRefusal, DEFAULT_INFLIGHT_BYTES, InflightBudget, InflightError } from './inflight.js';
import { limitConnections } from '../util/http-listener.js';
import { ORG_ID_HEADER, resolveTenant } from './tenant.js';
import type { CertificateWatcher } from '../tls/certificate-watcher.js';
import { watchedServerCredentials } from '../tls/grpc-credentials.js';
import { grpcAuthInterceptor, type PushAccess } from './push-auth.js';

export const TRACE_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

export interface GrpcReceiverOptions {
  /** host:port to listen on, e.g. `0.0.0.0:4317`; port 0 picks a free port. */
  readonly endpoint: string;
  /** Largest (decompressed) message accepted; bigger ones get RESOURCE_EXHAUSTED from grpc-js itself. */
  readonly maxRecvBytes: number;
  /** When true the tenant comes from `x-scope-orgid` metadata and is required. */
  readonly multitenancy: boolean;
  readonly pusher: Pusher;
  /** Receives internal errors. Default: console. */
  readonly logger?: WarnLogger;
  /** How long close() lets in-flight calls finish before cutting them. Default 5000 ms. */
  readonly shutdownGraceMs?: number;
  /** Byte budget shared with the other receivers. Default: a budget of its own of DEFAULT_INFLIGHT_BYTES. */
  readonly inflight?: InflightBudget;
  /** Connection settings; each absent one keeps grpc-js's default. */
  readonly connection?: GrpcConnectionOptions;
  /** TLS (mTLS when its settings name a client CA) with a certificate that follows the files. Default: plaintext. */
  readonly tls?: CertificateWatcher;
  /** Access control (auth.enabled): calls need a write token for their tenant. Default: none. */
  readonly auth?: PushAccess | null;
}

/** Tempo's server.grpc_server_* settings (durations in ms), plus the connection cap. */
export interface GrpcConnectionOptions {
  /** Most open connections; more are closed as they arrive. 0 = no cap. */
  readonly maxConnections?: number;
  /** Streams (calls) one connection may have open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly maxConcurrentStreams?: number;
  /** A connection with no call for this long is sent GOAWAY and closed. */
  readonly maxConnectionIdleMs?: number;
  /** A connection older than this is sent GOAWAY, then closed after maxConnectionAgeGraceMs. */
  readonly maxConnectionAgeMs?: number;
  readonly maxConnectionAgeGraceMs?: number;
  /** After this long without activity the server pings the client … */
  readonly keepaliveTimeMs?: number;
  /** … and closes the connection if the ping is not answered within this. */
  readonly keepaliveTimeoutMs?: number;
}

/** grpc-js treats values this large as "never"; Go's infinite durations map onto it. */
const GRPC_NEVER_MS = 2 ** 31 - 1;

function grpcMs(ms: number | undefined): number | undefined {
  if (ms === undefined) return undefined;
  return ms <= 0 || ms > GRPC_NEVER_MS ? GRPC_NEVER_MS : ms;
}

export function channelOptions(maxRecvBytes: number, c: GrpcConnectionOptions): Record<string, number> {
  const o: Record<string, number> = { 'grpc.max_receive_message_length': maxRecvBytes };
  const set = (key: string, v: number | undefined): void => {
    if (v !== undefined) o[key] = v;
  };
  if (c.maxConcurrentStreams !== undefined && c.maxConcurrentStreams > 0) o['grpc.max_concurrent_streams'] = c.maxConcurrentStreams;
  set('grpc.max_connection_idle_ms', grpcMs(c.maxConnectionIdleMs));
  set('grpc.max_connection_age_ms', grpcMs(c.maxConnectionAgeMs));
  set('grpc.max_connection_age_grace_ms', grpcMs(c.maxConnectionAgeGraceMs));
  set('grpc.keepalive_time_ms', grpcMs(c.keepaliveTimeMs));
  set('grpc.keepalive_timeout_ms', grpcMs(c.keepaliveTimeoutMs));
  return o;
}

/**
 * Admission to the in-flight byte budget, when a call's headers arrive and before grpc-js reads its
 * message: grpc-js buffers a whole message before the handler runs, so checking in the handler would
 * come after the bytes are in memory. A call reserves the largest message it may send (maxRecvBytes,
 * twice that when compressed since both copies coexist) but at most a sixteenth of the budget, so a
 * large size limit does not let only one call receive at a time. Once its message is in, the call
 * holds exactly the message's size; if the budget cannot cover that, the call is refused there.
 * A call that does not get its reservation within ADMISSION_WAIT_MS is answered RESOURCE_EXHAUSTED
 * with RetryInfo; while it waits its stream is not read (HTTP/2 flow control: at most a 64 KiB window).
 * Message bytes in memory are therefore at most max(budget, 16 × maxRecvBytes) plus one call (a call
 * alone is always admitted) — with the defaults (64 MiB, 4 MiB) just the budget — whatever the
 * number of connections and streams.
 */
function admissionInterceptor(budget: InflightBudget, maxRecvBytes: number): ServerInterceptor {
  const cap = budget.reservationCap;
  const refusal = (): StatusObject => {
    countRefusal('grpc', 'inflight_bytes');
    const failure = classifyFailure(new InflightError(budget.limitBytes));
    const md = new Metadata();
    md.set('grpc-status-details-bin', toBuffer(encodeStatusWithRetryInfo(failure.rpcCode, failure.message, failure.retryAfterSeconds ?? 1)));
    return { code: status.RESOURCE_EXHAUSTED, details: failure.message, metadata: md };
  };
  return (_method, call) => {
    const lease = budget.lease();
    return new ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            const encoding = firstString(metadata, 'grpc-encoding') ?? 'identity';
            const reserve = Math.min(cap, encoding === 'identity' ? maxRecvBytes : 2 * maxRecvBytes);
            void lease.takeOrWait(reserve).then((granted) => {
              if (granted) nextMetadata(metadata);
              else call.sendStatus(refusal());
            });
          },
          onReceiveMessage: (message: Buffer, nextMessage) => {
            // The request as decoded is what stays in memory until the push settles.
            if (message.length > lease.bytes && !lease.take(message.length - lease.bytes)) {
              lease.release();
              call.sendStatus(refusal());
              return;
            }
            lease.shrinkTo(message.length);
            nextMessage(message);
          },
          onCancel: () => lease.release(),
        });
      },
      sendStatus: (st, nextStatus) => {
        lease.release();
        nextStatus(st);
      },
    });
  };
}

export interface GrpcReceiver {
  /** The bound port (the real one when the endpoint asked for port 0). */
  readonly port: number;
  close(): Promise<void>;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// Hand-written so the request reaches the scanner as raw bytes: no protobufjs objects on the hot path.
const traceServiceDefinition: ServiceDefinition = {
  Export: {
    path: TRACE_EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer): Buffer => b,
    requestDeserialize: (b: Buffer): Buffer => b,
    responseSerialize: (r: Uint8Array): Buffer => toBuffer(r),
    responseDeserialize: (b: Buffer): Buffer => b,
  },
};

function firstString(md: Metadata, key: string): string | undefined {
  for (const v of md.get(key)) {
    if (typeof v === 'string') return v;
  }
  return undefined;
}

function toServiceError(err: unknown, logger: WarnLogger): Partial<ServiceError> {
  const failure = classifyFailure(err);
  if (failure.internal) logger.error({ err }, 'otlp grpc receiver: push failed');
  const metadata = new Metadata();
  if (failure.retryAfterSeconds !== undefined) {
    metadata.set('grpc-status-details-bin', toBuffer(encodeStatusWithRetryInfo(failure.rpcCode, failure.message, failure.retryAfterSeconds)));
  }
  // RpcCode values are google.rpc.Code, which grpc-js's `status` enum mirrors number for number.
  return { code: failure.rpcCode as number as status, details: failure.message, metadata };
}

/** Starts the OTLP/gRPC trace receiver (TraceService/Export). */
export async function startGrpcReceiver(opts: GrpcReceiverOptions): Promise<GrpcReceiver> {
  const logger = opts.logger ?? consoleLogger;
  const okResponse = encodeExportResponse(0, '');

  async function receive(request: Buffer, metadata: Metadata): Promise<Uint8Array> {
    const tenant = resolveTenant(firstString(metadata, ORG_ID_HEADER), opts.multitenancy);
    const batch = decodeExportRequest(request, tenant);
    if (batch.spans.length === 0) return okResponse;
    const result = await opts.pusher.push(batch);
    return result.rejectedSpans === 0 ? okResponse : encodeExportResponse(result.rejectedSpans, result.message);
  }

  const budget = opts.inflight ?? new InflightBudget(DEFAULT_INFLIGHT_BYTES);
  const conn = opts.connection ?? {};
  const server = new Server({
    ...channelOptions(opts.maxRecvBytes, conn),
    // Access control first: a call it refuses never reserves in-flight bytes.
    interceptors: [...(opts.auth ? [grpcAuthInterceptor(opts.auth, opts.multitenancy)] : []), admissionInterceptor(budget, opts.maxRecvBytes)],
  });
  server.addService(traceServiceDefinition, {
    Export: (call: ServerUnaryCall<Buffer, Uint8Array>, callback: sendUnaryData<Uint8Array>): void => {
      receive(call.request, call.metadata).then(
        (response) => callback(null, response),
        (err: unknown) => callback(toServiceError(err, logger)),
      );
    },
  });

  // We own the listening socket and hand connections to grpc-js, so the connection cap and TCP
  // keepalive apply (grpc-js has no setting for either). With TLS, grpc-js's HTTP/2 server does the
  // handshake on each injected socket.
  const injector = server.createConnectionInjector(opts.tls !== undefined ? watchedServerCredentials(opts.tls) : ServerCredentials.createInsecure());
  const prefaceTimeoutMs = grpcMs(conn.maxConnectionIdleMs);
  const listener: NetServer = createServer((socket) => {
    // grpc-js's idle timer sends GOAWAY and waits for the client, which a client that never spoke
    // HTTP/2 ignores: such a connection is closed here when nothing arrives within the idle time.
    // Set after the injection, since the HTTP/2 server resets the socket's timeout when it takes it.
    injector.injectConnection(socket);
    if (prefaceTimeoutMs !== undefined && prefaceTimeoutMs < GRPC_NEVER_MS) {
      const timer = setTimeout(() => {
        if (socket.bytesRead === 0) socket.destroy();
      }, prefaceTimeoutMs);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
    }
  });
  limitConnections(listener, conn.maxConnections ?? 0);
  const { host, port: wanted } = parseEndpoint(opts.endpoint);
  const port = await new Promise<number>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(wanted, host, () => {
      listener.off('error', reject);
      const addr = listener.address();
      resolve(typeof addr === 'object' && addr !== null ? addr.port : wanted);
    });
  });
  listener.on('error', (err) => logger.error({ err }, 'otlp grpc receiver: listener error'));

  const graceMs = opts.shutdownGraceMs ?? 5000;
  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      listener.close();
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, graceMs);
      timer.unref();
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return closing;
  }

  return { port, close };
}
