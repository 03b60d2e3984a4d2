import { attributeSource, blockKeys, blockKeysMatching, blockTagValues, type TagSource } from '../block/tags.js';
import type { BlockKeys } from '../block/search.js';
import type { BlockSearchFilter } from '../block/search.js';
import type { AnyValue, KeyValue, Trace } from '../model/trace.js';
import { decodeTrace } from '../otlp/trace-decode.js';
import { buildEvalTrace, compile, extractConditions, type CompiledQuery, type RootExpr } from '../traceql/index.js';
import type { Blocklist } from './blocklist.js';
import type { RecentTraceSource } from './search.js';

/** Tag scopes of /api/v2/search/tags, in the order Tempo lists them. */
export const TAG_SCOPES = ['resource', 'span', 'intrinsic', 'event', 'link', 'instrumentation'] as const;
export type TagScope = (typeof TAG_SCOPES)[number];

export interface TagScopeNames {
  readonly name: TagScope;
  readonly tags: readonly string[];
}

export interface TagValue {
  /** string | int | float | bool | keyword */
  readonly type: string;
  readonly value: string;
}

/** The intrinsic names Tempo lists under the `intrinsic` scope. */
export const INTRINSIC_TAGS: readonly string[] = [
  'duration', 'event:name', 'event:timeSinceStart', 'instrumentation:name', 'instrumentation:version', 'kind',
  'link:spanID', 'link:traceID', 'name', 'rootName', 'rootServiceName', 'span:duration', 'span:id', 'span:kind',
  'span:name', 'span:parentID', 'span:status', 'span:statusMessage', 'status', 'statusMessage', 'trace:duration',
  'trace:id', 'trace:rootName', 'trace:rootService', 'traceDuration',
];

const STATUS_VALUES = ['error', 'ok', 'unset'];
const KIND_VALUES = ['client', 'consumer', 'internal', 'producer', 'server', 'unspecified'];

/** A tag as the values endpoints name it: `resource.x`, `span.x`, `.x`, or an intrinsic. */
export type TagRef =
  | { readonly kind: 'attribute'; readonly scope: 'none' | 'span' | 'resource' | 'event' | 'link' | 'instrumentation'; readonly key: string }
  | { readonly kind: 'intrinsic'; readonly name: string };

const INTRINSIC_ALIASES: Record<string, string> = {
  'span:name': 'name',
  'span:status': 'status',
  'span:kind': 'kind',
  'span:statusMessage': 'statusMessage',
  'span:duration': 'duration',
  'trace:rootName': 'rootName',
  'trace:rootService': 'rootServiceName',
  'trace:duration': 'traceDuration',
};

/** Parses a v2 tag name; unknown bare names are unscoped attributes (as the v1 endpoint means them). */
export function parseTagRef(name: string): TagRef {
  for (const scope of ['resource', 'span', 'event', 'link', 'instrumentation'] as const) {
    if (name.startsWith(`${scope}.`) && name.length > scope.length + 1) return { kind: 'attribute', scope, key: unquote(name.slice(scope.length + 1)) };
  }
  if (name.startsWith('.') && name.length > 1) return { kind: 'attribute', scope: 'none', key: unquote(name.slice(1)) };
  if (INTRINSIC_TAGS.includes(name)) return { kind: 'intrinsic', name: INTRINSIC_ALIASES[name] ?? name };
  return { kind: 'attribute', scope: 'none', key: name };
}

function unquote(s: string): string {
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) {
    try {
      return JSON.parse(s) as string;
    } catch {
      return s.slice(1, -1);
    }
  }
  return s;
}

export interface TagRequest {
  readonly startMs?: number;
  readonly endMs?: number;
  /** Most names per scope / values returned; 0 or absent: no limit. */
  readonly limit?: number;
  /** `q`: only spans matching this spanset query contribute. */
  readonly query?: RootExpr;
}

/**
 * Tag names and values over recent data and blocks. Block answers come from DuckDB (cached per
 * block); recent traces are decoded and, with `q`, evaluated so only matching spans count.
 */
/** Most encoded recent data one tag request decodes (about 90k spans). */
const RECENT_SCAN_BYTES = 32 * 1024 * 1024;
/** Longest stretch of scanning before other work gets a turn. */
const YIELD_EVERY_MS = 10;

export class TagService {
  constructor(
    private readonly blocks: Blocklist,
    private readonly recent: RecentTraceSource | null,
  ) {}

  async tagNames(tenant: string, scopes: readonly TagScope[], req: TagRequest = {}): Promise<TagScopeNames[]> {
    const found = new Map<TagScope, Set<string>>(scopes.map((s) => [s, new Set<string>()]));
    const add = (scope: TagScope, key: string): void => {
      found.get(scope)?.add(key);
    };
    const run = req.query === undefined ? null : compile(req.query);

    for await (const { trace, matched } of this.recentSpans(tenant, run, req)) {
      for (const rs of trace.resourceSpans) {
        let any = false;
        for (const ss of rs.scopeSpans) {
          let scopeUsed = false;
          for (const s of ss.spans) {
            if (matched !== null && !matched.has(hex(s.spanId))) continue;
            any = scopeUsed = true;
            for (const kv of s.attributes) add('span', kv.key);
            for (const e of s.events) for (const kv of e.attributes) add('event', kv.key);
            for (const l of s.links) for (const kv of l.attributes) add('link', kv.key);
          }
          if (scopeUsed) for (const kv of ss.scope.attributes) add('instrumentation', kv.key);
        }
        if (any) for (const kv of rs.resource.attributes) add('resource', kv.key);
      }
    }

    if (found.has('span') || found.has('resource')) {
      const filter = this.blockFilter(req);
      const readers = await this.blocks.readers(tenant, req.startMs, req.endMs);
      const keys = await Promise.all(
        readers.map((r) => {
          const file = r.parquetPath();
          return file === null ? null : blockKeysMatching(file, filter).catch(() => null);
        }),
      );
      for (const k of keys) {
        if (k === null) continue;
        for (const key of k.span) add('span', key);
        for (const key of k.resource) add('resource', key);
      }
    }
    if (found.has('intrinsic')) for (const t of INTRINSIC_TAGS) add('intrinsic', t);

    const limit = req.limit ?? 0;
    return scopes.map((name) => {
      const tags = [...(found.get(name) ?? [])].sort();
      return { name, tags: limit > 0 ? tags.slice(0, limit) : tags };
    });
  }

  async tagValues(tenant: string, tag: TagRef, req: TagRequest = {}): Promise<TagValue[]> {
    if (tag.kind === 'intrinsic' && (tag.name === 'status' || tag.name === 'kind')) {
      return (tag.name === 'status' ? STATUS_VALUES : KIND_VALUES).map((value) => ({ type: 'keyword', value }));
    }
    const out = new Map<string, TagValue>();
    const add = (v: TagValue): void => {
      out.set(`${v.type}\u0000${v.value}`, v);
    };
    const run = req.query === undefined ? null : compile(req.query);
    for await (const { trace, matched, rootName, rootServiceName } of this.recentSpans(tenant, run, req)) {
      recentValues(trace, matched, tag, rootName, rootServiceName, add);
    }

    if (blockSources(tag, undefined).length > 0) {
      // Blocks are chosen by time range; inside them only `q` narrows, so unfiltered answers stay cached.
      const filter = this.blockFilter(req);
      const readers = await this.blocks.readers(tenant, req.startMs, req.endMs);
      const lists = await Promise.all(
        readers.map(async (r) => {
          const file = r.parquetPath();
          if (file === null) return [];
          const keys = tag.kind === 'attribute' ? await blockKeys(file).catch(() => undefined) : undefined;
          const vals = await Promise.all(blockSources(tag, keys).map((src) => blockTagValues(file, src, filter).catch(() => [])));
          return vals.flat();
        }),
      );
      for (const l of lists) for (const v of l) add(v);
    }
    const values = [...out.values()].sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : a.type < b.type ? -1 : 1));
    const limit = req.limit ?? 0;
    return limit > 0 ? values.slice(0, limit) : values;
  }

  /**
   * Reads the attribute keys of the tenant's blocks ahead of the first tag request (blocks never change,
   * so this is done once per block); call it when blocks appear. Errors are ignored: it is only a cache.
   */
  async warm(tenant: string): Promise<void> {
    for (const r of await this.blocks.readers(tenant)) {
      const file = r.parquetPath();
      if (file !== null) await blockKeys(file).catch(() => undefined);
    }
  }

  /** The block pre-filter for `q`: used only when it describes matching spans exactly enough (a plain conjunction). */
  private blockFilter(req: TagRequest): BlockSearchFilter {
    if (req.query === undefined) return { conditions: { conditions: [], allConditions: false, needAllSpans: false } };
    const c = extractConditions(req.query);
    // Like Tempo's autocomplete filtering, only a single && filter narrows; anything else lists all.
    if (!c.allConditions || c.needAllSpans) return { conditions: { conditions: [], allConditions: false, needAllSpans: false } };
    return { conditions: c };
  }

  /**
   * Decoded recent traces (newest head block first) matching `run`, up to RECENT_SCAN_BYTES of them:
   * tag lists are for autocomplete, and decoding a whole 500 MB head block per keystroke would not be.
   * Yields the event loop every few ms so pushes keep flowing meanwhile.
   */
  private async *recentSpans(
    tenant: string,
    run: CompiledQuery | null,
    req: TagRequest,
  ): AsyncGenerator<{ trace: Trace; matched: Set<string> | null; rootName: string; rootServiceName: string }> {
    if (this.recent === null) return;
    let scanned = 0;
    let slice = performance.now();
    for (const rec of this.recent.recentTraces(tenant, { startMs: req.startMs, endMs: req.endMs })) {
      scanned += rec.trace.byteLength;
      if (scanned > RECENT_SCAN_BYTES) break;
      if (performance.now() - slice > YIELD_EVERY_MS) {
        await new Promise((r) => setImmediate(r));
        slice = performance.now();
      }
      const trace = decodeTrace(rec.trace);
      const ev = buildEvalTrace(trace);
      let matched: Set<string> | null = null;
      if (run !== null) {
        matched = new Set();
        for (const ss of run(ev)) for (const s of ss.spans) matched.add(s.spanId);
        if (matched.size === 0) continue;
      }
      yield { trace, matched, rootName: ev.rootName, rootServiceName: ev.rootServiceName };
    }
  }
}

function blockSources(tag: TagRef, keys: BlockKeys | undefined): TagSource[] {
  if (tag.kind === 'attribute') {
    // Keys already read tell which scope holds the attribute at all, so absent ones cost nothing.
    const has = (scope: 'span' | 'resource'): boolean => keys === undefined || (scope === 'span' ? keys.span : keys.resource).has(tag.key);
    const scopes: ('span' | 'resource')[] = tag.scope === 'span' || tag.scope === 'resource' ? [tag.scope] : tag.scope === 'none' ? ['span', 'resource'] : [];
    return scopes.filter(has).map((s) => attributeSource(s, tag.key, keys));
  }
  switch (tag.name) {
    case 'name':
      return [{ kind: 'column', column: 'name' }];
    case 'statusMessage':
      return [{ kind: 'column', column: 'status_message' }];
    case 'rootName':
      return [{ kind: 'column', column: 'trace_root_name' }];
    case 'rootServiceName':
      return [{ kind: 'column', column: 'trace_root_service' }];
    case 'instrumentation:name':
      return [{ kind: 'column', column: 'scope_name' }];
    case 'instrumentation:version':
      return [{ kind: 'column', column: 'scope_version' }];
    case 'event:name':
      return [{ kind: 'listColumn', column: 'event_names' }];
    default:
      return [];
  }
}

function typed(v: AnyValue): TagValue | null {
  if ('stringValue' in v) return { type: 'string', value: v.stringValue };
  if ('intValue' in v) return { type: 'int', value: v.intValue.toString() };
  if ('doubleValue' in v) return { type: 'float', value: String(v.doubleValue) };
  if ('boolValue' in v) return { type: 'bool', value: String(v.boolValue) };
  return null;
}

function valuesOf(kvs: readonly KeyValue[], key: string, add: (v: TagValue) => void): boolean {
  let hit = false;
  for (const kv of kvs) {
    if (kv.key !== key) continue;
    const t = typed(kv.value);
    if (t !== null) {
      add(t);
      hit = true;
    }
  }
  return hit;
}

function recentValues(
  trace: Trace,
  matched: Set<string> | null,
  tag: TagRef,
  rootName: string,
  rootServiceName: string,
  add: (v: TagValue) => void,
): void {
  if (tag.kind === 'intrinsic' && (tag.name === 'rootName' || tag.name === 'rootServiceName')) {
    const v = tag.name === 'rootName' ? rootName : rootServiceName;
    if (v !== '') add({ type: 'string', value: v });
    return;
  }
  for (const rs of trace.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        if (matched !== null && !matched.has(hex(s.spanId))) continue;
        if (tag.kind === 'intrinsic') {
          const str = (v: string): void => {
            if (v !== '') add({ type: 'string', value: v });
          };
          if (tag.name === 'name') str(s.name);
          else if (tag.name === 'statusMessage') str(s.status.message);
          else if (tag.name === 'instrumentation:name') str(ss.scope.name);
          else if (tag.name === 'instrumentation:version') str(ss.scope.version);
          else if (tag.name === 'event:name') for (const e of s.events) str(e.name);
          continue;
        }
        switch (tag.scope) {
          case 'span':
            valuesOf(s.attributes, tag.key, add);
            break;
          case 'resource':
            valuesOf(rs.resource.attributes, tag.key, add);
            break;
          case 'none':
            if (!valuesOf(s.attributes, tag.key, add)) valuesOf(rs.resource.attributes, tag.key, add);
            break;
          case 'event':
            for (const e of s.events) valuesOf(e.attributes, tag.key, add);
            break;
          case 'link':
            for (const l of s.links) valuesOf(l.attributes, tag.key, add);
            break;
          case 'instrumentation':
            valuesOf(ss.scope.attributes, tag.key, add);
            break;
        }
      }
    }
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
