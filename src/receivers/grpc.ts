import { Metadata, Server, ServerCredentials, status } from '@grpc/grpc-js';
import type { sendUnaryData, ServerUnaryCall, ServiceDefinition, ServiceError } from '@grpc/grpc-js';
import type { Pusher } from '../model/pusher.js';
import { decodeExportRequest } from '../otlp/decode-request.js';
import { encodeExportResponse } from '../otlp/export-response.js';
import { classifyFailure } from './failure.js';
import { consoleLogger } from './logger.js';
import type { WarnLogger } from '../model/logger.js';
import { grpcAddress, parseEndpoint } from './endpoint.js';
import { encodeStatusWithRetryInfo } from './retry-status.js';
import { ORG_ID_HEADER, resolveTenant } from './tenant.js';

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
    metadata.set(
      'grpc-status-details-bin',
      toBuffer(encodeStatusWithRetryInfo(failure.rpcCode, failure.message, failure.retryAfterSeconds)),
    );
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

  const server = new Server({
    'grpc.max_receive_message_length': opts.maxRecvBytes,
  });
  server.addService(traceServiceDefinition, {
    Export: (call: ServerUnaryCall<Buffer, Uint8Array>, callback: sendUnaryData<Uint8Array>): void => {
      receive(call.request, call.metadata).then(
        (response) => callback(null, response),
        (err: unknown) => callback(toServiceError(err, logger)),
      );
    },
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(grpcAddress(parseEndpoint(opts.endpoint)), ServerCredentials.createInsecure(), (err, bound) => {
      if (err) reject(err);
      else resolve(bound);
    });
  });

  const graceMs = opts.shutdownGraceMs ?? 5000;
  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
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
