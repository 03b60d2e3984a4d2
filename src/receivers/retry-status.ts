/**
 * A google.rpc.Status carrying a google.rpc.RetryInfo detail, for the `grpc-status-details-bin` trailer.
 * The OpenTelemetry Collector retries RESOURCE_EXHAUSTED only when RetryInfo is present (OTLP spec,
 * "Failures"), so without it a rate-limited batch sent through a Collector would be dropped.
 */

const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function lengthDelimited(field: number, bytes: Uint8Array): number[] {
  return [...varint((field << 3) | 2), ...varint(bytes.length), ...bytes];
}

function varintField(field: number, n: number): number[] {
  return [...varint(field << 3), ...varint(n)];
}

/** Encodes Status{code, message, details: [Any(RetryInfo{retry_delay: seconds})]}. */
export function encodeStatusWithRetryInfo(code: number, message: string, retryAfterSeconds: number): Uint8Array {
  const seconds = Math.max(0, Math.floor(retryAfterSeconds));
  const duration = Uint8Array.from(seconds > 0 ? varintField(1, seconds) : []);
  const retryInfo = Uint8Array.from(lengthDelimited(1, duration));
  const any = Uint8Array.from([...lengthDelimited(1, new TextEncoder().encode(RETRY_INFO_TYPE_URL)), ...lengthDelimited(2, retryInfo)]);
  const status: number[] = [];
  if (code !== 0) status.push(...varintField(1, code));
  if (message !== '') status.push(...lengthDelimited(2, new TextEncoder().encode(message)));
  status.push(...lengthDelimited(3, any));
  return Uint8Array.from(status);
}
