/**
 * The block's Parquet schema: one row per span. The writer stages rows in an uncompressed Parquet file
 * of the same columns (parquet-stage.ts, span-extract.ts) and DuckDB copies it into data.parquet.
 */

/** One span row as the reference implementation (span-rows.test-helper.ts) produces it. Optional strings are null when absent. */
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
}

/** Element type of span_attrs / resource_attrs. `type` is string|int|double|bool|array|kvlist|bytes|empty. */
export const ATTR_STRUCT = 'STRUCT(key VARCHAR, type VARCHAR, str VARCHAR, int BIGINT, dbl DOUBLE, bool BOOLEAN)';
/** Columns of data.parquet in order, with their DuckDB types. */
export const SPAN_COLUMNS: readonly (readonly [name: string, type: string])[] = [
  ['trace_id', 'VARCHAR'],
  ['span_id', 'VARCHAR'],
  ['parent_span_id', 'VARCHAR'],
  ['name', 'VARCHAR'],
  ['kind', 'UTINYINT'],
  ['status_code', 'UTINYINT'],
  ['status_message', 'VARCHAR'],
  ['start_unix_nano', 'UBIGINT'],
  ['end_unix_nano', 'UBIGINT'],
  ['duration_nano', 'UBIGINT'],
  ['service_name', 'VARCHAR'],
  ['http_method', 'VARCHAR'],
  ['http_route', 'VARCHAR'],
  ['http_url', 'VARCHAR'],
  ['http_status_code', 'INTEGER'],
  ['db_system', 'VARCHAR'],
  ['db_name', 'VARCHAR'],
  ['k8s_namespace_name', 'VARCHAR'],
  ['k8s_pod_name', 'VARCHAR'],
  ['k8s_deployment_name', 'VARCHAR'],
  ['k8s_cluster_name', 'VARCHAR'],
  ['span_attrs', `${ATTR_STRUCT}[]`],
  ['resource_attrs', `${ATTR_STRUCT}[]`],
  ['scope_name', 'VARCHAR'],
  ['scope_version', 'VARCHAR'],
  ['event_names', 'VARCHAR[]'],
  ['link_count', 'INTEGER'],
  ['trace_root_service', 'VARCHAR'],
  ['trace_root_name', 'VARCHAR'],
  ['trace_start_unix_nano', 'UBIGINT'],
  ['trace_end_unix_nano', 'UBIGINT'],
  ['trace_duration_nano', 'UBIGINT'],
  ['nested_left', 'INTEGER'],
  ['nested_right', 'INTEGER'],
  ['nested_parent', 'INTEGER'],
  ['resource_proto', 'BLOB'],
  ['scope_proto', 'BLOB'],
  ['span_proto', 'BLOB'],
];

/** SELECT list over the staged rows (any table expression) with every column cast to its block type. */
export function parquetSelectSql(source: string): string {
  return `SELECT ${SPAN_COLUMNS.map(([n, t]) => `CAST(${n} AS ${t}) AS ${n}`).join(', ')} FROM ${source}`;
}
