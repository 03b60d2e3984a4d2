/** Tempo's protobuf answers for trace by ID (see tempopb.TraceByIDResponse). */
import { WireWriter } from './wire.js';

/** Optional parts of TraceByIDResponse beyond the trace. */
export interface TraceByIdResponseExtras {
  /** TraceByIDMetrics.inspectedBytes (field 2.1). */
  readonly inspectedBytes?: number;
  /** PartialStatus: true writes PARTIAL (1); COMPLETE (0) is the default and is omitted. */
  readonly partial?: boolean;
  readonly message?: string;
}

/**
 * tempopb.TraceByIDResponse{ trace = 1, metrics = 2, status = 3, message = 4 } around an encoded
 * tempopb.Trace — the v2 answer. (The v1 protobuf answer is the tempopb.Trace bytes themselves.)
 */
export function encodeTraceByIdResponse(traceBytes: Uint8Array, extras: TraceByIdResponseExtras = {}): Uint8Array {
  const w = new WireWriter(traceBytes.length + 32);
  w.bytesField(1, traceBytes);
  if (extras.inspectedBytes !== undefined && extras.inspectedBytes > 0) {
    const m = w.beginMessage(2);
    w.tag(1, 0);
    w.varint(extras.inspectedBytes);
    w.endMessage(m);
  }
  if (extras.partial === true) {
    w.tag(3, 0);
    w.varint(1);
  }
  if (extras.message !== undefined && extras.message !== '') w.stringField(4, extras.message);
  return w.finish();
}
