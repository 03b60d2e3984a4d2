/**
 * One byte budget for request bodies held in memory by every receiver together (gRPC and HTTP), so a
 * burst of clients cannot push the process past its memory limit: a request takes its bytes before
 * they are read (and while they are decompressed) and gives them back when its push settles; when
 * the budget is spent it is refused with 429 / RESOURCE_EXHAUSTED and the client retries later.
 */
import { DEFAULTS } from '../config/defaults.js';
import { inflightBytes, refusedRequests } from './metrics.js';

/** Budget of a receiver started without one (tests); the app passes distributor.max_inflight_bytes. */
export const DEFAULT_INFLIGHT_BYTES = DEFAULTS.distributor.maxInflightBytes;

/** Why a request was refused before its push; the label of rubato_receiver_refused_requests_total. */
export type RefusalReason = 'inflight_bytes' | 'too_large';

export class InflightBudget {
  private used = 0;
  /** @param limitBytes bytes all requests together may hold; 0 or less turns the budget off. */
  constructor(readonly limitBytes: number) {}

  /** Bytes currently held. */
  get inFlight(): number {
    return this.used;
  }

  /** A per-request holder of bytes from this budget. */
  lease(): InflightLease {
    return new InflightLease(this);
  }

  /** @internal for InflightLease: takes `n` unless that overdraws the budget. `own` is what the caller already holds. */
  grant(n: number, own: number): boolean {
    // A request alone may exceed the budget (up to the per-request size limits), so a budget set
    // below the largest accepted request still lets every request through, one at a time.
    if (this.limitBytes > 0 && this.used + n > this.limitBytes && this.used !== own) return false;
    this.used += n;
    inflightBytes.set(this.used);
    return true;
  }

  /** @internal for InflightLease */
  giveBack(n: number): void {
    this.used -= n;
    inflightBytes.set(this.used);
  }
}

/** The bytes one request holds; release() is idempotent so every way a request can end may call it. */
export class InflightLease {
  private held = 0;
  constructor(private readonly budget: InflightBudget) {}

  get bytes(): number {
    return this.held;
  }

  /** Takes `n` more bytes; false (nothing taken) when the budget cannot give them. */
  take(n: number): boolean {
    if (n <= 0) return true;
    if (!this.budget.grant(n, this.held)) return false;
    this.held += n;
    return true;
  }

  /** Gives back what is held beyond `n` bytes (when a request turns out smaller than reserved). */
  shrinkTo(n: number): void {
    if (n >= this.held) return;
    this.budget.giveBack(this.held - n);
    this.held = n;
  }

  release(): void {
    this.shrinkTo(0);
  }
}

/** Thrown when a request cannot get its bytes; answered 429 / RESOURCE_EXHAUSTED with a retry hint. */
export class InflightError extends Error {
  constructor(readonly limitBytes: number) {
    super(`too many bytes in flight: the receivers hold the limit of ${limitBytes} bytes; retry later`);
    this.name = 'InflightError';
  }
}

export function countRefusal(transport: 'grpc' | 'http', reason: RefusalReason): void {
  refusedRequests.inc({ transport, reason });
}
