/**
 * Answers to OTLP export calls: ExportTraceServiceResponse (protobuf and JSON) and google.rpc.Status,
 * which OTLP/HTTP uses as the body of error responses.
 */
import { WireWriter } from './wire.js';

/**
 * ExportTraceServiceResponse{ partial_success = 1 { rejected_spans = 1 (int64), error_message = 2 } }.
 * Empty message (zero bytes) when nothing was rejected and there is no message, as the OTLP spec asks.
 */
export function encodeExportResponse(rejectedSpans: number, errorMessage: string): Uint8Array {
  if (rejectedSpans === 0 && errorMessage === '') return new Uint8Array(0);
  const w = new WireWriter(32 + errorMessage.length * 3);
  const m = w.beginMessage(1);
  if (rejectedSpans !== 0) {
    w.tag(1, 0);
    w.varint64(BigInt(Math.trunc(rejectedSpans)));
  }
  if (errorMessage !== '') w.stringField(2, errorMessage);
  w.endMessage(m);
  return w.finish();
}

/** JSON form of the export response, per the OTLP/JSON mapping (int64 as a decimal string). */
export interface ExportResponseJson {
  partialSuccess?: { rejectedSpans?: string; errorMessage?: string };
}

export function exportResponseJson(rejectedSpans: number, errorMessage: string): ExportResponseJson {
  if (rejectedSpans === 0 && errorMessage === '') return {};
  const partialSuccess: { rejectedSpans?: string; errorMessage?: string } = {};
  if (rejectedSpans !== 0) partialSuccess.rejectedSpans = String(Math.trunc(rejectedSpans));
  if (errorMessage !== '') partialSuccess.errorMessage = errorMessage;
  return { partialSuccess };
}

/** google.rpc.Status{ code = 1 (int32), message = 2 }; defaults omitted. */
export function encodeRpcStatus(code: number, message: string): Uint8Array {
  const w = new WireWriter(16 + message.length * 3);
  if (code !== 0) {
    w.tag(1, 0);
    // int32 negatives are sign-extended to 64 bits on the wire
    w.varint64(BigInt(code | 0));
  }
  if (message !== '') w.stringField(2, message);
  return w.finish();
}
