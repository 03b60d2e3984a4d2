import type { DuckDBDataChunk } from '@duckdb/node-api';
import type { SpanBytes } from '../otlp/trace-encode.js';
import { blobBytes } from './duckdb.js';

/** The lossless payload columns of a span row, in the order payloadsOf reads them. */
export const PAYLOAD_COLUMNS = 'resource_proto, scope_proto, span_proto';

/** The span payloads of a result chunk whose columns `first`, `first + 1`, `first + 2` are PAYLOAD_COLUMNS. */
export function payloadsOf(chunk: DuckDBDataChunk, first: number): SpanBytes[] {
  const r = chunk.getColumnValues(first);
  const sc = chunk.getColumnValues(first + 1);
  const sp = chunk.getColumnValues(first + 2);
  const out: SpanBytes[] = [];
  for (let i = 0; i < chunk.rowCount; i++) out.push({ resource: blobBytes(r[i]), scope: blobBytes(sc[i]), span: blobBytes(sp[i]) });
  return out;
}
