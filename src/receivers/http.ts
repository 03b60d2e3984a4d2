import type { IncomingMessage } from 'node:http';
import Fastify from 'fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ACCEPTED_ALL, type Pusher, type PushResult } from '../model/pusher.js';
import { decodeExportRequest } from '../otlp/decode-request.js';
import { encodeExportResponse, encodeRpcStatus, exportResponseJson } from '../otlp/export-response.js';
import { otlpJsonToProto } from '../otlp/json-request.js';
import { parseEndpoint } from './endpoint.js';
import { BodyError, classifyFailure } from './failure.js';
import type { ReceiveFailure } from './failure.js';
import { isCompressed, readBody } from './http-body.js';
import { countRefusal, DEFAULT_INFLIGHT_BYTES, InflightBudget, InflightError, type InflightLease } from './inflight.js';
import { applyListenerLimits, DEFAULT_HTTP_LISTENER, type HttpListenerLimits } from '../util/http-listener.js';
import { consoleLogger } from './logger.js';
import type { WarnLogger } from '../model/logger.js';
import { ORG_ID_HEADER, resolveTenant } from './tenant.js';
import type { CertificateWatcher } from '../tls/certificate-watcher.js';
import { createNodeServer } from '../tls/http-server.js';
import { admitPush, type PushAccess } from './push-auth.js';

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
  /** Byte budget shared with the other receivers. Default: a budget of its own of DEFAULT_INFLIGHT_BYTES. */
  readonly inflight?: InflightBudget;
  /** Timeouts, connection cap and TCP keepalive of the listener. Default: Tempo's server defaults, no cap. */
  readonly listener?: HttpListenerLimits;
  /** HTTPS (mTLS when its settings name a client CA) with a certificate that follows the files. Default: plain HTTP. */
  readonly tls?: CertificateWatcher;
  /** Access control (auth.enabled): pushes need a write token for their tenant. Default: none. */
  readonly auth?: PushAccess | null;
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

/** Starts the OTLP/HTTP trace receiver (POST /v1/traces, protobuf or JSON, optionally gzip/deflate). */
export async function startHttpReceiver(opts: HttpReceiverOptions): Promise<HttpReceiver> {
  const logger = opts.logger ?? consoleLogger;
  const { host, port } = parseEndpoint(opts.endpoint);
  const okProto = Buffer.from(encodeExportResponse(0, ''));
  const okJson = JSON.stringify(exportResponseJson(0, ''));
  const budget = opts.inflight ?? new InflightBudget(DEFAULT_INFLIGHT_BYTES);
  const listener = opts.listener ?? DEFAULT_HTTP_LISTENER;
  /** Each request's share of the in-flight budget, and whether its route handler (which releases it) has started. */
  const leases = new WeakMap<FastifyRequest, { lease: InflightLease; inHandler: boolean }>();

  const app = Fastify({
    logger: false,
    bodyLimit: opts.maxBodyBytes,
    serverFactory: (handler) => createNodeServer(handler, listener, opts.tls ?? null),
  });
  applyListenerLimits(app.server, listener);

  // Only our types get a parser, so any other Content-Type is refused by fastify with 415 before the
  // body is read. The parser streams the body in (readBody), so the in-flight budget and the size cap
  // apply to bytes as they arrive and as they are decompressed, never after buffering a whole body.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    [...PROTOBUF_TYPES, JSON_TYPE],
    (request: FastifyRequest, payload: IncomingMessage, done: (err: Error | null, body?: ReceivedBody) => void) => {
      const held = leases.get(request);
      if (held === undefined) return done(new Error('request without an in-flight lease'));
      readBody(payload, {
        contentEncoding: headerValue(request.headers['content-encoding']),
        maxBytes: opts.maxBodyBytes,
        lease: held.lease,
        budgetBytes: budget.limitBytes,
      }).then(
        (bytes) => done(null, { json: mediaTypeOf(request.headers['content-type']) === JSON_TYPE, bytes }),
        (err: Error) => done(err),
      );
    },
  );

  app.addHook('onRequest', async (request, reply) => {
    // Access control before anything is reserved or read.
    if (opts.auth) {
      try {
        admitPush((name) => headerValue(request.headers[name]), opts.multitenancy, opts.auth, 'otlp_http');
      } catch (err) {
        return sendFailure(request, reply, classifyFailure(err));
      }
    }
    const held = { lease: budget.lease(), inHandler: false };
    leases.set(request, held);
    // Whatever way the exchange ends, the bytes go back; once the handler runs it releases them itself
    // when the push settles, which may be after a client gave up.
    reply.raw.once('close', () => {
      if (!held.inHandler) held.lease.release();
    });
    const announced = Number(headerValue(request.headers['content-length']) ?? '0');
    if (announced > opts.maxBodyBytes) {
      // Answered at once; node then reads the unread body and drops it (keeping nothing) so the
      // client, still uploading, is not cut off before it reads the 413. http_server_read_timeout
      // bounds how long that drain may take.
      countRefusal('http', 'too_large');
      return sendFailure(
        request,
        reply,
        classifyFailure(new BodyError(413, `request body of ${announced} bytes is larger than the limit of ${opts.maxBodyBytes} bytes`)),
      );
    }
    // A compressed body may inflate to the size limit: that much (up to the budget's reservation cap)
    // is reserved before reading, so a flood of small gzip bodies is refused up front instead of each
    // being half inflated and dropped. Inflated bytes beyond it are still taken as they come, and the
    // lease shrinks to the real size once the body is in.
    const inflated = isCompressed(headerValue(request.headers['content-encoding'])) ? Math.min(opts.maxBodyBytes, budget.reservationCap) : 0;
    const reserve = announced + inflated;
    if (reserve > 0 && !(await held.lease.takeOrWait(reserve))) {
      countRefusal('http', 'inflight_bytes');
      return sendFailure(request, reply, classifyFailure(new InflightError(budget.limitBytes)));
    }
    return undefined;
  });

  app.setErrorHandler((err, request, reply) => {
    const cause = asReceiveError(err);
    const failure = classifyFailure(cause);
    if (failure.internal) logger.error({ err }, 'otlp http receiver: request failed');
    if (cause instanceof InflightError) countRefusal('http', 'inflight_bytes');
    else if (cause instanceof BodyError && cause.httpStatus === 413) countRefusal('http', 'too_large');
    // A body refused halfway is dropped, not read to its end: close the connection after the answer.
    if (!request.raw.complete) reply.header('connection', 'close');
    return sendFailure(request, reply, failure);
  });

  app.post<{ Body: ReceivedBody | undefined }>(TRACES_PATH, async (request, reply) => {
    const body = request.body;
    // Reached without a body only when there was no Content-Type and nothing to parse.
    if (body === undefined) throw new BodyError(415, 'missing Content-Type: expected application/x-protobuf or application/json');
    const held = leases.get(request);
    if (held !== undefined) held.inHandler = true;
    let result: PushResult;
    try {
      const tenant = resolveTenant(headerValue(request.headers[ORG_ID_HEADER]), opts.multitenancy);
      // The protobuf form (about half the JSON's size) is held beside the body once converted.
      if (body.json && held !== undefined && !held.lease.take(body.bytes.length >>> 1)) throw new InflightError(budget.limitBytes);
      const proto = body.json ? otlpJsonToProto(body.bytes) : body.bytes;
      const batch = decodeExportRequest(proto, tenant);
      result = batch.spans.length > 0 ? await opts.pusher.push(batch) : ACCEPTED_ALL;
    } finally {
      held?.lease.release();
    }
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
