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

/**
 * How long a request may wait for bytes before it is refused. A short wait turns momentary overlaps
 * (a few requests arriving together) into a delay rather than a refusal; a waiting request holds no
 * body bytes, only its connection (its body stays in the socket, HTTP/2 flow control holds the rest).
 */
export const ADMISSION_WAIT_MS = 2000;

interface Waiter {
  readonly lease: InflightLease;
  readonly n: number;
  readonly done: (granted: boolean) => void;
}

export class InflightBudget {
  private used = 0;
  private readonly waiters: Waiter[] = [];
  /** @param limitBytes bytes all requests together may hold; 0 or less turns the budget off. */
  constructor(readonly limitBytes: number) {}

  /**
   * Most a request reserves up front for bytes whose size it cannot know yet (a gRPC message, an
   * inflated body): a sixteenth of the budget, so a size limit large next to the budget still lets 16
   * requests be received at once. What they really hold is counted as it becomes known.
   */
  get reservationCap(): number {
    return this.limitBytes > 0 ? Math.floor(this.limitBytes / 16) : Infinity;
  }

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
    // First come, first served: the head waiter blocks those behind it until it fits.
    while (this.waiters.length > 0) {
      const w = this.waiters[0]!;
      if (!this.grant(w.n, w.lease.bytes)) break;
      this.waiters.shift();
      w.done(true);
    }
  }

  /** @internal for InflightLease */
  enqueue(w: Waiter): void {
    this.waiters.push(w);
  }

  /** @internal for InflightLease */
  dequeue(lease: InflightLease): Waiter | undefined {
    const i = this.waiters.findIndex((w) => w.lease === lease);
    return i < 0 ? undefined : this.waiters.splice(i, 1)[0];
  }
}

/** The bytes one request holds; release() is idempotent so every way a request can end may call it. */
export class InflightLease {
  private held = 0;
  private released = false;
  constructor(private readonly budget: InflightBudget) {}

  get bytes(): number {
    return this.held;
  }

  /** Takes `n` more bytes; false (nothing taken) when the budget cannot give them. */
  take(n: number): boolean {
    if (n <= 0) return true;
    if (this.released || !this.budget.grant(n, this.held)) return false;
    this.held += n;
    return true;
  }

  /**
   * Takes `n` more bytes, waiting up to `waitMs` for them to be given back by others. Resolves false
   * (nothing taken) on timeout or when the lease is released meanwhile (the request ended).
   */
  takeOrWait(n: number, waitMs = ADMISSION_WAIT_MS): Promise<boolean> {
    if (this.released) return Promise.resolve(false);
    if (this.take(n)) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        if (this.budget.dequeue(this) !== undefined) resolve(false);
      }, waitMs);
      timer.unref();
      this.budget.enqueue({
        lease: this,
        n,
        done: (granted) => {
          clearTimeout(timer);
          // grant() already counted the bytes in the budget; the lease now holds them.
          if (granted) this.held += n;
          resolve(granted);
        },
      });
    });
  }

  /** Gives back what is held beyond `n` bytes (when a request turns out smaller than reserved). */
  shrinkTo(n: number): void {
    if (n >= this.held) return;
    this.budget.giveBack(this.held - n);
    this.held = n;
  }

  release(): void {
    this.released = true;
    this.budget.dequeue(this)?.done(false);
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
