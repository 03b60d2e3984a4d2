import { COLUMNS } from './columns.js';

export { ATTR_STRUCT } from './columns.js';

/**
 * The block's Parquet schema: one row per span. The writer stages rows in an uncompressed Parquet file
 * of the same columns (parquet-stage.ts, span-extract.ts) and DuckDB copies it into data.parquet.
 */

/** One span row as the reference implementation (test/support/span-rows.ts) produces it. Optional strings are null when absent. */
export interface SpanRow {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: number;
  statusCode: number;
  statusMessage: string | null;
  startUnixNano: bigint;
  endUnixNano: bigint;
  durationNano: bigint;
  serviceName: string | null;
  httpMethod: string | null;
  httpRoute: string | null;
  httpUrl: string | null;
  httpStatusCode: number | null;
  dbSystem: string | null;
  dbName: string | null;
  k8sNamespaceName: string | null;
  k8sPodName: string | null;
  k8sDeploymentName: string | null;
  k8sClusterName: string | null;
  /** JSON array of attribute structs (see ATTR_STRUCT). */
  spanAttrsJson: string;
  resourceAttrsJson: string;
  scopeName: string | null;
  scopeVersion: string | null;
  /** JSON array of strings. */
  eventNamesJson: string;
  linkCount: number;
  traceRootService: string | null;
  traceRootName: string | null;
  traceStartUnixNano: bigint;
  traceEndUnixNano: bigint;
  traceDurationNano: bigint;
  nestedLeft: number;
  nestedRight: number;
  nestedParent: number;
  resourceProto: Uint8Array;
  scopeProto: Uint8Array;
  spanProto: Uint8Array;
  /** JSON arrays of attribute structs: every event's (link's) attributes in order, the scope's. */
  eventAttrsJson: string;
  linkAttrsJson: string;
  scopeAttrsJson: string;
  /** JSON arrays of hex IDs, one per link. */
  linkTraceIdsJson: string;
  linkSpanIdsJson: string;
}

/** Columns of data.parquet in order, with their DuckDB types (from the column table). */
export const SPAN_COLUMNS: readonly (readonly [name: string, type: string])[] = COLUMNS.map((c) => [c.name, c.type] as const);

/** SELECT list over the staged rows (any table expression) with every column cast to its block type. */
export function parquetSelectSql(source: string): string {
  return `SELECT ${SPAN_COLUMNS.map(([n, t]) => `CAST(${n} AS ${t}) AS ${n}`).join(', ')} FROM ${source}`;
}
