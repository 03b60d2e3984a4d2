import type { PushBatch, SpanEntry } from '../model/batch.js';
import { scanTraces } from './scan.js';

/**
 * Scans an encoded ExportTraceServiceRequest (or tempopb.Trace / TracesData: same wire shape) into a
 * PushBatch without decoding attributes. Span bytes are views into `buf`, so the caller must not
 * reuse `buf` while the batch lives. Throws OtlpDecodeError on malformed input.
 */
export function decodeExportRequest(buf: Uint8Array, tenant: string): PushBatch {
  const spans: SpanEntry[] = [];
  // Spans of one trace usually sit together: reuse the previous ID string when the bytes match, and
  // make new ones with Buffer's native hex (a flat string, not a 16-piece concatenation).
  const hex = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let lastAt = -1;
  let lastId = '';
  scanTraces(buf, (b, resource, scope, start, end, info) => {
    const at = info.traceIdStart;
    if (lastAt < 0 || hex.compare(hex, lastAt, lastAt + 16, at, at + 16) !== 0) {
      lastId = hex.toString('hex', at, at + 16);
      lastAt = at;
    }
    spans.push({
      traceId: lastId,
      span: b.subarray(start, end),
      resource,
      scope,
      startNs: info.startNs,
      endNs: info.endNs,
    });
  });
  return { tenant, spans, payload: buf, byteSize: buf.length };
}
