import type { PushBatch, SpanEntry } from '../model/batch.js';
import { hexAt, scanTraces } from './scan.js';

/**
 * Scans an encoded ExportTraceServiceRequest (or tempopb.Trace / TracesData: same wire shape) into a
 * PushBatch without decoding attributes. Span bytes are views into `buf`, so the caller must not
 * reuse `buf` while the batch lives. Throws OtlpDecodeError on malformed input.
 */
export function decodeExportRequest(buf: Uint8Array, tenant: string): PushBatch {
  const spans: SpanEntry[] = [];
  scanTraces(buf, (b, resource, scope, start, end, info) => {
    spans.push({
      traceId: hexAt(b, info.traceIdStart, 16),
      span: b.subarray(start, end),
      resource,
      scope,
      startNs: info.startNs,
      endNs: info.endNs,
    });
  });
  return { tenant, spans, payload: buf, byteSize: buf.length };
}
