/**
 * One OTLP/gRPC Export of an already encoded request, for benchmarks that drive load themselves:
 * resolves with the call's error, or null once the server acknowledged it.
 */
import type { Client, ServiceError } from '@grpc/grpc-js';

export function exportOnce(client: Client, request: Buffer): Promise<ServiceError | null> {
  return new Promise((resolve) =>
    client.makeUnaryRequest(
      '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      (b: Buffer) => b,
      (b: Buffer) => b,
      request,
      (err) => resolve(err),
    ),
  );
}
