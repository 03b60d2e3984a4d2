import type { DuckDBAppender } from '@duckdb/node-api';

/**
 * The block's Parquet schema: one row per span. Rows are first appended to a DuckDB staging table whose
 * attribute lists are JSON text (one appender call per row instead of one per list element), and the
 * COPY that writes data.parquet turns them into typed LIST<STRUCT> columns natively.
 */

/** One span row as the writer produces it. Optional strings are null when absent. */
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
const ATTR_JSON_SHAPE = `'[{"key":"VARCHAR","type":"VARCHAR","str":"VARCHAR","int":"BIGINT","dbl":"DOUBLE","bool":"BOOLEAN"}]'`;

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

const JSON_STAGED = new Set(['span_attrs', 'resource_attrs', 'event_names']);

/** CREATE TABLE statement for the staging table. */
export function stagingTableSql(table: string): string {
  const cols = SPAN_COLUMNS.map(([n, t]) => (JSON_STAGED.has(n) ? `${n} VARCHAR` : `${n} ${t}`));
  return `CREATE TABLE ${table} (${cols.join(', ')})`;
}

/** SELECT list that turns the staging table into the Parquet columns. */
export function parquetSelectSql(table: string): string {
  const cols = SPAN_COLUMNS.map(([n, t]) => {
    if (n === 'event_names') return `CAST(from_json(${n}, '["VARCHAR"]') AS ${t}) AS ${n}`;
    if (JSON_STAGED.has(n)) return `CAST(from_json(${n}, ${ATTR_JSON_SHAPE}) AS ${t}) AS ${n}`;
    return n;
  });
  return `SELECT ${cols.join(', ')} FROM ${table}`;
}

function appendOptVarchar(a: DuckDBAppender, v: string | null): void {
  if (v === null) a.appendNull();
  else a.appendVarchar(v);
}

/** Appends one row in SPAN_COLUMNS order. */
export function appendSpanRow(a: DuckDBAppender, r: SpanRow): void {
  a.appendVarchar(r.traceId);
  a.appendVarchar(r.spanId);
  appendOptVarchar(a, r.parentSpanId);
  a.appendVarchar(r.name);
  a.appendUTinyInt(r.kind);
  a.appendUTinyInt(r.statusCode);
  appendOptVarchar(a, r.statusMessage);
  a.appendUBigInt(r.startUnixNano);
  a.appendUBigInt(r.endUnixNano);
  a.appendUBigInt(r.durationNano);
  appendOptVarchar(a, r.serviceName);
  appendOptVarchar(a, r.httpMethod);
  appendOptVarchar(a, r.httpRoute);
  appendOptVarchar(a, r.httpUrl);
  if (r.httpStatusCode === null) a.appendNull();
  else a.appendInteger(r.httpStatusCode);
  appendOptVarchar(a, r.dbSystem);
  appendOptVarchar(a, r.dbName);
  appendOptVarchar(a, r.k8sNamespaceName);
  appendOptVarchar(a, r.k8sPodName);
  appendOptVarchar(a, r.k8sDeploymentName);
  appendOptVarchar(a, r.k8sClusterName);
  a.appendVarchar(r.spanAttrsJson);
  a.appendVarchar(r.resourceAttrsJson);
  appendOptVarchar(a, r.scopeName);
  appendOptVarchar(a, r.scopeVersion);
  a.appendVarchar(r.eventNamesJson);
  a.appendInteger(r.linkCount);
  appendOptVarchar(a, r.traceRootService);
  appendOptVarchar(a, r.traceRootName);
  a.appendUBigInt(r.traceStartUnixNano);
  a.appendUBigInt(r.traceEndUnixNano);
  a.appendUBigInt(r.traceDurationNano);
  a.appendInteger(r.nestedLeft);
  a.appendInteger(r.nestedRight);
  a.appendInteger(r.nestedParent);
  a.appendBlob(r.resourceProto);
  a.appendBlob(r.scopeProto);
  a.appendBlob(r.spanProto);
  a.endRow();
}
