import Fastify from 'fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ACCEPTED_ALL, type Pusher } from '../model/pusher.js';
import { decodeExportRequest } from '../otlp/decode-request.js';
import { encodeExportResponse, encodeRpcStatus, exportResponseJson } from '../otlp/export-response.js';
import { otlpJsonToProto } from '../otlp/json-request.js';
import { parseEndpoint } from './endpoint.js';
import { BodyError, classifyFailure } from './failure.js';
import type { ReceiveFailure } from './failure.js';
import { decodeContentEncoding } from './http-body.js';
import { consoleLogger } from './logger.js';
import type { WarnLogger } from '../model/logger.js';
import { ORG_ID_HEADER, resolveTenant } from './tenant.js';

export const TRACES_PATH = '/v1/traces';

const PROTOBUF_TYPES = ['application/x-protobuf', 'application/protobuf'];
const JSON_TYPE = 'application/json';

export interface HttpReceiverOptions {
  /** host:port to listen on, e.g. `0.0.0.0:4318`; port 0 picks a free port. */
  readonly endpoint: string;
  /** Cap on the body both as sent and after decompression; beyond it the answer is 413. */
  readonly maxBodyBytes: number;
  /** When true the tenant comes from the `X-Scope-OrgID` header and is required. */
  readonly multitenancy: boolean;
  readonly pusher: Pusher;
  /** Receives internal errors. Default: console. */
  readonly logger?: WarnLogger;
  /** Time allowed to receive a whole request (headers and body), so slow clients cannot pin sockets. Default 60000 ms. */
  readonly requestTimeoutMs?: number;
}

export interface HttpReceiver {
  /** The bound port (the real one when the endpoint asked for port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** What the content-type parser hands the route: the decompressed body and how to read it. */
interface ReceivedBody {
  readonly json: boolean;
  readonly bytes: Buffer;
}

function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Answers in the request's encoding, as the OTLP/HTTP spec asks; JSON when the request's is unusable. */
function replyFormat(request: FastifyRequest): { json: boolean; contentType: string } {
  const media = mediaTypeOf(headerValue(request.headers['content-type']));
  if (PROTOBUF_TYPES.includes(media)) return { json: false, contentType: media };
  return { json: true, contentType: JSON_TYPE };
}

/**
 * Turns fastify's own errors (body limit, media type, content length) and body stream errors (client
 * aborted: fastify marks them 400) into ours, so one mapping applies and they are not logged as internal.
 */
function asReceiveError(err: unknown): unknown {
  if (err instanceof BodyError || !(err instanceof Error)) return err;
  const statusCode = (err as { statusCode?: unknown }).statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return new BodyError(statusCode, err.message);
  }
  return err;
}

function sendFailure(request: FastifyRequest, reply: FastifyReply, failure: ReceiveFailure): FastifyReply {
  const format = replyFormat(request);
  reply.code(failure.httpStatus).header('content-type', format.contentType);
  if (failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(failure.retryAfterSeconds));
  if (format.json) return reply.send(JSON.stringify({ code: failure.rpcCode, message: failure.message }));
  return reply.send(Buffer.from(encodeRpcStatus(failure.rpcCode, failure.message)));
}

/** Largest oversize body read to its end before answering 413; larger ones get the answer and a closed connection. */
const DRAIN_LIMIT = 64 * 1024 * 1024;

/** Starts the OTLP/HTTP trace receiver (POST /v1/traces, protobuf or JSON, optionally gzip/deflate). */
export async function startHttpReceiver(opts: HttpReceiverOptions): Promise<HttpReceiver> {
  const logger = opts.logger ?? consoleLogger;
  const { host, port } = parseEndpoint(opts.endpoint);
  const okProto = Buffer.from(encodeExportResponse(0, ''));
  const okJson = JSON.stringify(exportResponseJson(0, ''));

  const app = Fastify({
    logger: false,
    bodyLimit: opts.maxBodyBytes,
    requestTimeout: opts.requestTimeoutMs ?? 60_000,
  });

  // Only our types get a parser, so any other Content-Type is refused by fastify with 415 before the
  // body is read. parseAs 'buffer' enforces the limit on the bytes as sent; the decompressed size is
  // capped separately below.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    [...PROTOBUF_TYPES, JSON_TYPE],
    { parseAs: 'buffer', bodyLimit: opts.maxBodyBytes },
    (request: FastifyRequest, raw: string | Buffer, done: (err: Error | null, body?: ReceivedBody) => void) => {
      const encoding = headerValue(request.headers['content-encoding']);
      const buf = typeof raw === 'string' ? Buffer.from(raw) : raw;
      decodeContentEncoding(buf, encoding, opts.maxBodyBytes).then(
        (bytes) => done(null, { json: mediaTypeOf(request.headers['content-type']) === JSON_TYPE, bytes }),
        (err: Error) => done(err),
      );
    },
  );

  // A body announced as too large is read and thrown away (up to DRAIN_LIMIT) before the 413, so the
  // client sees the answer instead of a connection reset in the middle of its upload.
  app.addHook('onRequest', async (request, reply) => {
    const announced = Number(headerValue(request.headers['content-length']) ?? '0');
    if (!(announced > opts.maxBodyBytes)) return;
    const failure = classifyFailure(new BodyError(413, `request body of ${announced} bytes is larger than the limit of ${opts.maxBodyBytes} bytes`));
    if (announced <= DRAIN_LIMIT) {
      request.raw.resume();
      await new Promise<void>((resolve) => {
        request.raw.once('end', resolve);
        request.raw.once('error', () => resolve());
        request.raw.once('close', resolve);
      });
    } else {
      reply.header('connection', 'close');
    }
    return sendFailure(request, reply, failure);
  });

  app.setErrorHandler((err, request, reply) => {
    const failure = classifyFailure(asReceiveError(err));
    if (failure.internal) logger.error({ err }, 'otlp http receiver: request failed');
    return sendFailure(request, reply, failure);
  });

  app.post<{ Body: ReceivedBody | undefined }>(TRACES_PATH, async (request, reply) => {
    const body = request.body;
    // Reached without a body only when there was no Content-Type and nothing to parse.
    if (body === undefined) throw new BodyError(415, 'missing Content-Type: expected application/x-protobuf or application/json');
    const tenant = resolveTenant(headerValue(request.headers[ORG_ID_HEADER]), opts.multitenancy);
    const proto = body.json ? otlpJsonToProto(body.bytes.toString('utf8')) : body.bytes;
    const batch = decodeExportRequest(proto, tenant);
    const result = batch.spans.length > 0 ? await opts.pusher.push(batch) : ACCEPTED_ALL;
    const format = replyFormat(request);
    reply.code(200).header('content-type', format.contentType);
    if (result.rejectedSpans > 0) {
      // OTLP partial success: 200, with how many spans were refused and why.
      return format.json
        ? JSON.stringify(exportResponseJson(result.rejectedSpans, result.message))
        : Buffer.from(encodeExportResponse(result.rejectedSpans, result.message));
    }
    return format.json ? okJson : okProto;
  });

  await app.listen({ host, port });
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : port;

  let closing: Promise<void> | undefined;
  return {
    port: boundPort,
    close: () => (closing ??= app.close()),
  };
}
