/**
 * Decode-and-discard OTLP/gRPC sink: the same gRPC plumbing and decoder as rubato's receiver, no WAL,
 * no ingester. The ingest benchmark runs it to show how close rubato's durable path comes to the bare
 * cost of receiving. Usage: node sink.js <port>
 */
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { decodeExportRequest } from '../../src/otlp/decode-request.js';

const port = Number(process.argv[2] ?? 4399);
const server = new Server({ 'grpc.max_receive_message_length': 64 << 20 });
let spans = 0;
server.addService(
  {
    Export: {
      path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  },
  {
    Export: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
      spans += decodeExportRequest(call.request, 'single-tenant').spans.length;
      cb(null, Buffer.alloc(0));
    },
  },
);
server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
  process.stdout.write('ready\n');
});
process.on('SIGTERM', () => {
  process.stdout.write(`spans ${spans}\n`);
  server.forceShutdown();
  process.exit(0);
});
