import type { PushBatch } from '../model/batch.js';
import { ACCEPTED_ALL, PushError, type Pusher, type PushResult } from '../model/pusher.js';
import { RateLimiter, type RateLimit } from './rate-limiter.js';
import { attributesTruncated, bytesReceived, discardedSpans, spansReceived, tracesPerBatch } from './metrics.js';
import { decodeExportRequest } from '../otlp/decode-request.js';
import { truncateAttributes, type AttributeScope } from '../otlp/truncate-attributes.js';

export interface DistributorOptions {
  /** Where accepted batches go: the ingester, in-process in monolithic mode. */
  readonly ingester: Pusher;
  /** Per-tenant ingestion rate limit (Tempo's overrides `ingestion.rate_limit_bytes` / `burst_size_bytes`). */
  readonly rateLimit: (tenant: string) => RateLimit;
  /** Longest attribute key or string value kept, per tenant (Tempo's max_attribute_bytes); 0 = no limit. Default: none. */
  readonly maxAttributeBytes?: (tenant: string) => number;
}

/**
 * The batch with attribute keys and string values cut to `maxBytes` (Tempo's distributor does this
 * before the ingester sees a span); the batch itself when nothing is cut.
 */
function limitAttributes(batch: PushBatch, maxBytes: number): PushBatch {
  const cut = truncateAttributes(batch.payload, maxBytes);
  if (cut.total === 0) return batch;
  for (const [scope, n] of Object.entries(cut.counts) as [AttributeScope, number][]) {
    if (n > 0) attributesTruncated.inc({ tenant: batch.tenant, scope }, n);
  }
  return decodeExportRequest(cut.bytes, batch.tenant);
}

/**
 * The distributor: counts what arrives, enforces per-tenant ingestion limits, then hands the batch
 * to the ingester. In monolithic mode this is one function call, so no span is re-encoded here.
 */
export function createDistributor(opts: DistributorOptions): Pusher {
  const limiter = new RateLimiter(opts.rateLimit);
  return {
    async push(batch: PushBatch): Promise<PushResult> {
      const { tenant } = batch;
      tracesPerBatch.inc({ tenant });
      spansReceived.inc({ tenant }, batch.spans.length);
      bytesReceived.inc({ tenant }, batch.byteSize);
      if (batch.spans.length === 0) return ACCEPTED_ALL;
      if (!limiter.allow(tenant, batch.byteSize)) {
        discardedSpans.inc({ reason: 'rate_limited', tenant }, batch.spans.length);
        const limit = opts.rateLimit(tenant);
        throw new PushError(
          'rate_limited',
          `RATE_LIMITED: batch size (${batch.byteSize} bytes) exceeded ingestion limit (local: ${limit.bytesPerSecond} bytes/s) while adding ${batch.spans.length} spans for user ${tenant}`,
        );
      }
      const maxAttributeBytes = opts.maxAttributeBytes?.(tenant) ?? 0;
      return opts.ingester.push(maxAttributeBytes > 0 ? limitAttributes(batch, maxAttributeBytes) : batch);
    },
  };
}
