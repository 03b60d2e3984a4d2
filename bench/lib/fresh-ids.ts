/**
 * A generated request used as a template: each copy gets fresh random trace IDs, so a benchmark can
 * send endless distinct traffic without paying for generation on the hot loop.
 */
import { randomFillSync } from 'node:crypto';
import { generateExportRequest } from './generate.js';
import { decodeExportRequest } from '../../src/otlp/decode-request.js';

export interface RequestTemplate {
  readonly bytes: Buffer;
  /** Byte offsets of each span's 16-byte trace ID, grouped per trace. */
  readonly traceIdOffsets: number[][];
  readonly spans: number;
}

export function makeTemplate(spansPerRequest: number, spansPerTrace: number, seed = 7): RequestTemplate {
  const bytes = Buffer.from(generateExportRequest({ traces: Math.ceil(spansPerRequest / spansPerTrace), spansPerTrace, seed }));
  const batch = decodeExportRequest(bytes, 'bench');
  const byTrace = new Map<string, number[]>();
  for (const s of batch.spans) {
    const at = s.span.byteOffset - bytes.byteOffset;
    // trace_id is field 1 (tag 0x0a, length 16) and the generator writes it first
    if (bytes[at] !== 0x0a || bytes[at + 1] !== 16) throw new Error('generator does not write trace_id first');
    const list = byTrace.get(s.traceId) ?? [];
    list.push(at + 2);
    byTrace.set(s.traceId, list);
  }
  return { bytes, traceIdOffsets: [...byTrace.values()], spans: batch.spans.length };
}

/** A copy of the template with a fresh random ID for each of its traces. */
export function freshRequest(t: RequestTemplate): Buffer {
  const b = Buffer.from(t.bytes);
  const id = Buffer.allocUnsafe(16);
  for (const offsets of t.traceIdOffsets) {
    randomFillSync(id);
    for (const o of offsets) id.copy(b, o);
  }
  return b;
}
