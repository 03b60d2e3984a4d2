import type { PushBatch } from '../model/batch.js';

/** What receivers hand batches to. Resolves once the batch is durable (WAL fsync), rejects otherwise. */
export interface Pusher {
  push(batch: PushBatch): Promise<void>;
}

/** Rejection reasons a receiver maps onto HTTP / gRPC status codes. */
export type PushErrorKind = 'invalid' | 'too_large' | 'rate_limited' | 'unavailable';

export class PushError extends Error {
  readonly kind: PushErrorKind;
  constructor(kind: PushErrorKind, message: string) {
    super(message);
    this.kind = kind;
    this.name = 'PushError';
  }
}
