import { PushError } from '../model/pusher.js';
import { OtlpDecodeError } from '../otlp/errors.js';
import { InflightError } from './inflight.js';
import { TenantError } from './tenant.js';
import { AuthDenied } from '../auth/access.js';

/** google.rpc.Code values the receivers answer with (also the `code` of an OTLP/HTTP error Status). */
export const RpcCode = {
  INVALID_ARGUMENT: 3,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;
export type RpcCode = (typeof RpcCode)[keyof typeof RpcCode];

/** Seconds a rate-limited client is told to wait (HTTP Retry-After, gRPC RetryInfo). */
export const RATE_LIMIT_RETRY_AFTER_SECONDS = 1;

/** How a failed push is answered on either transport. */
export interface ReceiveFailure {
  readonly rpcCode: RpcCode;
  readonly httpStatus: number;
  /** Sent to the client. Internal errors get a generic text so paths and internals do not leak. */
  readonly message: string;
  /** Set when the client should retry after this many seconds. */
  readonly retryAfterSeconds?: number;
  /** True for unexpected errors, which the receiver logs. */
  readonly internal: boolean;
}

/** Thrown by the HTTP body reader; carries its own status (413 too large, 415 encoding, 400 corrupt). */
export class BodyError extends Error {
  readonly httpStatus: number;
  constructor(httpStatus: number, message: string) {
    super(message);
    this.httpStatus = httpStatus;
    this.name = 'BodyError';
  }
}

/** Maps anything a receive can throw onto gRPC and HTTP answers, following the OTLP spec's retry rules. */
export function classifyFailure(err: unknown): ReceiveFailure {
  if (err instanceof OtlpDecodeError) {
    return { rpcCode: RpcCode.INVALID_ARGUMENT, httpStatus: 400, message: err.message, internal: false };
  }
  if (err instanceof TenantError) {
    return err.kind === 'missing'
      ? { rpcCode: RpcCode.UNAUTHENTICATED, httpStatus: 401, message: err.message, internal: false }
      : { rpcCode: RpcCode.INVALID_ARGUMENT, httpStatus: 400, message: err.message, internal: false };
  }
  if (err instanceof AuthDenied) {
    return err.status === 401
      ? { rpcCode: RpcCode.UNAUTHENTICATED, httpStatus: 401, message: err.message, internal: false }
      : { rpcCode: RpcCode.PERMISSION_DENIED, httpStatus: 403, message: err.message, internal: false };
  }
  if (err instanceof InflightError) {
    return {
      rpcCode: RpcCode.RESOURCE_EXHAUSTED,
      httpStatus: 429,
      message: err.message,
      retryAfterSeconds: RATE_LIMIT_RETRY_AFTER_SECONDS,
      internal: false,
    };
  }
  if (err instanceof BodyError) {
    const rpcCode = err.httpStatus === 413 ? RpcCode.RESOURCE_EXHAUSTED : RpcCode.INVALID_ARGUMENT;
    return { rpcCode, httpStatus: err.httpStatus, message: err.message, internal: false };
  }
  if (err instanceof PushError) {
    switch (err.kind) {
      case 'invalid':
        return { rpcCode: RpcCode.INVALID_ARGUMENT, httpStatus: 400, message: err.message, internal: false };
      case 'too_large':
        // No RetryInfo: the same batch would be refused again, so the client must drop it.
        return { rpcCode: RpcCode.RESOURCE_EXHAUSTED, httpStatus: 413, message: err.message, internal: false };
      case 'rate_limited':
        return {
          rpcCode: RpcCode.RESOURCE_EXHAUSTED,
          httpStatus: 429,
          message: err.message,
          retryAfterSeconds: RATE_LIMIT_RETRY_AFTER_SECONDS,
          internal: false,
        };
      case 'unavailable':
        return { rpcCode: RpcCode.UNAVAILABLE, httpStatus: 503, message: err.message, internal: false };
    }
  }
  return { rpcCode: RpcCode.INTERNAL, httpStatus: 500, message: 'internal error', internal: true };
}
