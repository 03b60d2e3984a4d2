import type { IntrinsicName } from '../traceql/index.js';

/**
 * The one table of the block's columns. Everything that knows a column derives from here: the
 * Parquet schema (schema.ts), the span extractor's dedicated-column lists (span-extract.ts), the
 * search SQL (search-sql.ts) and the tag sources (tags.ts). A column can hold a TraceQL intrinsic, a
 * copy of one attribute ("dedicated", for fast filtering), a whole attribute list, or nothing a query
 * names directly (times, nested-set numbers, payloads).
 */

/** Element type of the attribute list columns (span, resource, event, link, scope). `type` is string|int|double|bool|array|kvlist|bytes|empty. */
export const ATTR_STRUCT = 'STRUCT(key VARCHAR, type VARCHAR, str VARCHAR, int BIGINT, dbl DOUBLE, bool BOOLEAN)';

/** How a column answers for a TraceQL intrinsic. */
export interface IntrinsicRole {
  readonly kind: 'intrinsic';
  readonly intrinsic: IntrinsicName;
  /**
   * What an absent value means to TraceQL: `''` (the evaluator sees an empty string), `'any'` (the
   * evaluator may still find a value the column lacks, so absence must not rule a row out), or
   * `'null'` (absent is absent).
   */
  readonly absent: '' | 'any' | 'null';
  /** Keyword literals stored as codes (`status = error` is `status_code = 2`). */
  readonly codes?: Readonly<Record<string, number>>;
  /** Unsigned: negative literals are decided without reading. */
  readonly unsigned?: boolean;
  /** A list column: a span matches when any element does (only `=` and `exists` push down). */
  readonly list?: boolean;
}

/**
 * A copy of one attribute per row (every attribute is also in the scope's attribute list). Several
 * keys may share a column (old and new semantic conventions): the column holds the value of the
 * first key in `keys` the span or resource has. Values of another type are stored converted
 * (an int under a string column as its decimal text; a double under an int column as its floor,
 * clamped to the INTEGER range), so the column narrows but never decides.
 */
export interface DedicatedRole {
  readonly kind: 'dedicated';
  readonly scope: 'span' | 'resource';
  readonly keys: readonly string[];
  readonly valueType: 'string' | 'int';
}

/** Attribute scopes with a list column; `instrumentation` is the instrumentation scope's attributes. */
export type ListScope = 'span' | 'resource' | 'event' | 'link' | 'instrumentation';

/**
 * The scope's full attribute list (ATTR_STRUCT[]). Event and link lists hold the attributes of all
 * the span's events (links) in one list: a span matches a condition when any of them does, so the
 * list narrows like the span's own.
 */
export interface AttributeListRole {
  readonly kind: 'attributes';
  readonly scope: ListScope;
}

export type ColumnRole = IntrinsicRole | DedicatedRole | AttributeListRole;

export interface ColumnDef {
  readonly name: string;
  /** DuckDB type in data.parquet. */
  readonly type: string;
  readonly role?: ColumnRole;
  /** First block format version (formatVersion in meta.ts) that has the column; 1 when absent. */
  readonly since?: number;
}

/** The newest block format version: the one this build writes. */
export const CURRENT_FORMAT_VERSION = 2;

const STATUS_CODES = { unset: 0, ok: 1, error: 2 } as const;
const KIND_CODES = { unspecified: 0, internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

const intrinsic = (i: IntrinsicName, absent: IntrinsicRole['absent'], extra: Partial<IntrinsicRole> = {}): IntrinsicRole => ({
  kind: 'intrinsic',
  intrinsic: i,
  absent,
  ...extra,
});
const spanAttr = (keys: string[], valueType: 'string' | 'int' = 'string'): DedicatedRole => ({ kind: 'dedicated', scope: 'span', keys, valueType });
const resourceAttr = (key: string): DedicatedRole => ({ kind: 'dedicated', scope: 'resource', keys: [key], valueType: 'string' });

/** Columns of data.parquet, in file order. */
export const COLUMNS: readonly ColumnDef[] = [
  { name: 'trace_id', type: 'VARCHAR', role: intrinsic('traceID', 'null') },
  { name: 'span_id', type: 'VARCHAR', role: intrinsic('spanID', 'null') },
  { name: 'parent_span_id', type: 'VARCHAR', role: intrinsic('parentID', '') },
  { name: 'name', type: 'VARCHAR', role: intrinsic('name', 'null') },
  { name: 'kind', type: 'UTINYINT', role: intrinsic('kind', 'null', { codes: KIND_CODES }) },
  { name: 'status_code', type: 'UTINYINT', role: intrinsic('status', 'null', { codes: STATUS_CODES }) },
  { name: 'status_message', type: 'VARCHAR', role: intrinsic('statusMessage', '') },
  { name: 'start_unix_nano', type: 'UBIGINT' },
  { name: 'end_unix_nano', type: 'UBIGINT' },
  { name: 'duration_nano', type: 'UBIGINT', role: intrinsic('duration', 'null', { unsigned: true }) },
  { name: 'service_name', type: 'VARCHAR', role: resourceAttr('service.name') },
  { name: 'http_method', type: 'VARCHAR', role: spanAttr(['http.request.method', 'http.method']) },
  { name: 'http_route', type: 'VARCHAR', role: spanAttr(['http.route']) },
  { name: 'http_url', type: 'VARCHAR', role: spanAttr(['url.full', 'http.url']) },
  { name: 'http_status_code', type: 'INTEGER', role: spanAttr(['http.response.status_code', 'http.status_code'], 'int') },
  { name: 'db_system', type: 'VARCHAR', role: spanAttr(['db.system.name', 'db.system']) },
  { name: 'db_name', type: 'VARCHAR', role: spanAttr(['db.namespace', 'db.name']) },
  { name: 'k8s_namespace_name', type: 'VARCHAR', role: resourceAttr('k8s.namespace.name') },
  { name: 'k8s_pod_name', type: 'VARCHAR', role: resourceAttr('k8s.pod.name') },
  { name: 'k8s_deployment_name', type: 'VARCHAR', role: resourceAttr('k8s.deployment.name') },
  { name: 'k8s_cluster_name', type: 'VARCHAR', role: resourceAttr('k8s.cluster.name') },
  { name: 'span_attrs', type: `${ATTR_STRUCT}[]`, role: { kind: 'attributes', scope: 'span' } },
  { name: 'resource_attrs', type: `${ATTR_STRUCT}[]`, role: { kind: 'attributes', scope: 'resource' } },
  { name: 'scope_name', type: 'VARCHAR', role: intrinsic('instrumentationName', '') },
  { name: 'scope_version', type: 'VARCHAR', role: intrinsic('instrumentationVersion', '') },
  { name: 'event_names', type: 'VARCHAR[]', role: intrinsic('eventName', 'null', { list: true }) },
  { name: 'link_count', type: 'INTEGER' },
  // A trace without a parentless span has no stored root, but the evaluator still picks one.
  { name: 'trace_root_service', type: 'VARCHAR', role: intrinsic('rootServiceName', 'any') },
  { name: 'trace_root_name', type: 'VARCHAR', role: intrinsic('rootName', 'any') },
  { name: 'trace_start_unix_nano', type: 'UBIGINT' },
  { name: 'trace_end_unix_nano', type: 'UBIGINT' },
  { name: 'trace_duration_nano', type: 'UBIGINT', role: intrinsic('traceDuration', 'null', { unsigned: true }) },
  { name: 'nested_left', type: 'INTEGER' },
  { name: 'nested_right', type: 'INTEGER' },
  { name: 'nested_parent', type: 'INTEGER' },
  { name: 'resource_proto', type: 'BLOB' },
  { name: 'scope_proto', type: 'BLOB' },
  { name: 'span_proto', type: 'BLOB' },
  // Format 2: event, link and instrumentation-scope attributes and link IDs, so queries on them are
  // pruned like span attributes. Last in the file, so format 1's columns are a prefix of format 2's.
  { name: 'event_attrs', type: `${ATTR_STRUCT}[]`, role: { kind: 'attributes', scope: 'event' }, since: 2 },
  { name: 'link_attrs', type: `${ATTR_STRUCT}[]`, role: { kind: 'attributes', scope: 'link' }, since: 2 },
  { name: 'scope_attrs', type: `${ATTR_STRUCT}[]`, role: { kind: 'attributes', scope: 'instrumentation' }, since: 2 },
  { name: 'link_trace_ids', type: 'VARCHAR[]', role: intrinsic('linkTraceID', 'null', { list: true }), since: 2 },
  { name: 'link_span_ids', type: 'VARCHAR[]', role: intrinsic('linkSpanID', 'null', { list: true }), since: 2 },
];

export interface DedicatedColumn extends DedicatedRole {
  readonly column: string;
}
export interface IntrinsicColumn extends IntrinsicRole {
  readonly column: string;
  readonly since: number;
}

/** Dedicated attribute columns of a scope, in file order. */
export function dedicatedColumns(scope: 'span' | 'resource'): readonly DedicatedColumn[] {
  return scope === 'span' ? SPAN_DEDICATED : RESOURCE_DEDICATED;
}

function dedicatedOf(scope: 'span' | 'resource'): DedicatedColumn[] {
  return COLUMNS.flatMap((c) => (c.role?.kind === 'dedicated' && c.role.scope === scope ? [{ ...c.role, column: c.name }] : []));
}
const SPAN_DEDICATED = dedicatedOf('span');
const RESOURCE_DEDICATED = dedicatedOf('resource');

const BY_KEY = new Map<string, DedicatedColumn>();
for (const d of [...SPAN_DEDICATED, ...RESOURCE_DEDICATED]) for (const k of d.keys) BY_KEY.set(`${d.scope}\u0000${k}`, d);

const INTRINSIC_COLUMNS = new Map<IntrinsicName, IntrinsicColumn>();
for (const c of COLUMNS) if (c.role?.kind === 'intrinsic') INTRINSIC_COLUMNS.set(c.role.intrinsic, { ...c.role, column: c.name, since: c.since ?? 1 });

/** The column holding an intrinsic in blocks of format `version` (default: the current one), if any. */
export function intrinsicColumn(name: IntrinsicName, version = CURRENT_FORMAT_VERSION): IntrinsicColumn | undefined {
  const c = INTRINSIC_COLUMNS.get(name);
  return c === undefined || c.since > version ? undefined : c;
}

const LIST_COLUMNS = new Map<ListScope, { readonly column: string; readonly since: number }>();
for (const c of COLUMNS) if (c.role?.kind === 'attributes') LIST_COLUMNS.set(c.role.scope, { column: c.name, since: c.since ?? 1 });

/** The attribute-list column of a scope. */
export function attributeListColumn(scope: 'span' | 'resource'): string;
/** The attribute-list column of a scope in blocks of format `version`; undefined when they have none. */
export function attributeListColumn(scope: ListScope, version?: number): string | undefined;
export function attributeListColumn(scope: ListScope, version = CURRENT_FORMAT_VERSION): string | undefined {
  const c = LIST_COLUMNS.get(scope);
  return c === undefined || c.since > version ? undefined : c.column;
}

/** Scopes whose attribute keys a block of format `version` lists in keys.json and columns. */
export function listScopes(version = CURRENT_FORMAT_VERSION): ListScope[] {
  return [...LIST_COLUMNS].flatMap(([scope, c]) => (c.since > version ? [] : [scope]));
}

/**
 * The dedicated column holding exactly the values of attribute `key` in a block (tag values read it
 * instead of the attribute list): a column of one key always, a shared column only when the block
 * (`blockKeys`, its attribute keys of that scope) has none of the column's other keys.
 */
export function exactDedicatedColumn(scope: 'span' | 'resource', key: string, blockKeys?: ReadonlySet<string>): DedicatedColumn | undefined {
  const d = BY_KEY.get(`${scope}\u0000${key}`);
  if (d === undefined) return undefined;
  if (d.keys.length === 1) return d;
  if (blockKeys === undefined) return undefined;
  return d.keys.some((k) => k !== key && blockKeys.has(k)) ? undefined : d;
}

/**
 * The dedicated column usable to pre-filter a condition on `key`: every span whose attribute `key`
 * satisfies the condition must satisfy it on the column too. The column holds the first of its keys
 * a span has, so that is true of the first key always, and of a later key only when the block has
 * none of the keys before it (else a span with both holds the earlier key's value).
 */
export function prefilterDedicatedColumn(scope: 'span' | 'resource', key: string, blockKeys?: ReadonlySet<string>): DedicatedColumn | undefined {
  const d = BY_KEY.get(`${scope}\u0000${key}`);
  if (d === undefined) return undefined;
  const at = d.keys.indexOf(key);
  if (at === 0) return d;
  if (blockKeys === undefined) return undefined;
  return d.keys.slice(0, at).some((k) => blockKeys.has(k)) ? undefined : d;
}
