/**
 * The hand-off between receivers, the distributor and the ingester: a batch goes in, a promise of
 * durability (or a typed refusal the receivers map onto HTTP and gRPC codes) comes out.
 */
import type { PushBatch, SpanEntry } from './batch.js';

/** Spans of an accepted batch that were refused (OTLP partial success). */
export interface PushResult {
  readonly rejectedSpans: number;
  /** Why, for the client; '' when nothing was refused. */
  readonly message: string;
  /**
   * When some spans were refused: the ones that were kept (the list the limits already build), so
   * what only counts accepted spans (the metrics generator) need not guess. Absent when none was refused.
   */
  readonly accepted?: readonly SpanEntry[];
}

export const ACCEPTED_ALL: PushResult = { rejectedSpans: 0, message: '' };

/**
 * What receivers hand batches to. Resolves once the accepted spans are durable (WAL fsync), telling
 * how many were refused; rejects when nothing was accepted.
 */
export interface Pusher {
  push(batch: PushBatch): Promise<PushResult>;
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
