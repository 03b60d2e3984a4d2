/**
 * Token bucket per tenant, in bytes, like Tempo's `ingestion.rate_limit_bytes` / `burst_size_bytes`
 * (local strategy: the limit applies to this one process).
 */
export interface RateLimit {
  /** Sustained bytes per second; 0 turns the limit off. */
  readonly bytesPerSecond: number;
  /** Largest burst, bytes. */
  readonly burstBytes: number;
}

interface Bucket {
  tokens: number;
  lastMs: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  constructor(private readonly limitFor: (tenant: string) => RateLimit) {}

  /** Takes `bytes` from the tenant's bucket; false (and nothing taken) when that would overdraw it. */
  allow(tenant: string, bytes: number, nowMs = Date.now()): boolean {
    const { bytesPerSecond, burstBytes } = this.limitFor(tenant);
    if (bytesPerSecond <= 0) return true;
    let b = this.buckets.get(tenant);
    if (b === undefined) {
      b = { tokens: burstBytes, lastMs: nowMs };
      this.buckets.set(tenant, b);
    }
    b.tokens = Math.min(burstBytes, b.tokens + ((nowMs - b.lastMs) / 1000) * bytesPerSecond);
    b.lastMs = nowMs;
    if (bytes > b.tokens) return false;
    b.tokens -= bytes;
    return true;
  }
}
