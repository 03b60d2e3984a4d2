import { blocksOf, type AttributeTagScope, type BlockSource, type TagQuery, type TagRef, type TypedValue } from '../block/block.js';
import type { BlockSearchFilter } from '../block/search.js';
import { compile, extractConditions, intrinsicByTagName, LISTED_INTRINSIC_TAGS, type RootExpr } from '../traceql/index.js';

export type { TagRef } from '../block/block.js';

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

const KEYWORD_VALUES: Readonly<Partial<Record<string, readonly string[]>>> = {
  status: ['error', 'ok', 'unset'],
  kind: ['client', 'consumer', 'internal', 'producer', 'server', 'unspecified'],
};

/** Parses a v2 tag name; unknown bare names are unscoped attributes (as the v1 endpoint means them). */
export function parseTagRef(name: string): TagRef {
  for (const scope of ['resource', 'span', 'event', 'link', 'instrumentation'] as const) {
    if (name.startsWith(`${scope}.`) && name.length > scope.length + 1) return { kind: 'attribute', scope, key: unquote(name.slice(scope.length + 1)) };
  }
  if (name.startsWith('.') && name.length > 1) return { kind: 'attribute', scope: 'none', key: unquote(name.slice(1)) };
  const intrinsic = LISTED_INTRINSIC_TAGS.includes(name) ? intrinsicByTagName(name) : undefined;
  if (intrinsic !== undefined) return { kind: 'intrinsic', name: intrinsic };
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
  /** Stops the request (deadline, client gone): it rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Values answered at most this many bytes (Tempo's `max_bytes_per_tag_values_query`); 0 or absent: no bound. */
  readonly maxBytes?: number;
}

/** Tag names and values: one loop over the tenant's blocks, recent and stored alike. */
export class TagService {
  constructor(private readonly sources: readonly BlockSource[]) {}

  async tagNames(tenant: string, scopes: readonly TagScope[], req: TagRequest = {}): Promise<TagScopeNames[]> {
    const found = new Map<TagScope, Set<string>>(scopes.map((s) => [s, new Set<string>()]));
    const attributeScopes = scopes.filter((s): s is AttributeTagScope => s !== 'intrinsic');
    if (attributeScopes.length > 0) {
      const q = tagQuery(req);
      const blocks = await blocksOf(this.sources, tenant, { startMs: req.startMs, endMs: req.endMs });
      const lists = await untilAborted(Promise.all(blocks.map((b) => b.tagNames(attributeScopes, q))), req.signal);
      for (const names of lists) for (const [scope, keys] of names) for (const k of keys) found.get(scope)?.add(k);
    }
    if (found.has('intrinsic')) for (const t of LISTED_INTRINSIC_TAGS) found.get('intrinsic')?.add(t);
    const limit = req.limit ?? 0;
    return scopes.map((name) => {
      const tags = [...(found.get(name) ?? [])].sort();
      return { name, tags: limit > 0 ? tags.slice(0, limit) : tags };
    });
  }

  async tagValues(tenant: string, tag: TagRef, req: TagRequest = {}): Promise<TagValue[]> {
    const keywords = tag.kind === 'intrinsic' ? KEYWORD_VALUES[tag.name] : undefined;
    if (keywords !== undefined) return keywords.map((value) => ({ type: 'keyword', value }));
    const q = tagQuery(req);
    const blocks = await blocksOf(this.sources, tenant, { startMs: req.startMs, endMs: req.endMs });
    const lists = await untilAborted(Promise.all(blocks.map((b) => b.tagValues(tag, q))), req.signal);
    const out = new Map<string, TypedValue>();
    for (const l of lists) for (const v of l) out.set(`${v.type}\u0000${v.value}`, v);
    const values = [...out.values()].sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : a.type < b.type ? -1 : 1));
    const limit = req.limit ?? 0;
    const limited = limit > 0 ? values.slice(0, limit) : values;
    return withinBytes(limited, req.maxBytes ?? 0);
  }

  /**
   * Opens the tenant's blocks and reads their attribute keys ahead of the first tag request (blocks
   * never change, so this is done once per block); call it when blocks appear.
   */
  async warm(tenant: string): Promise<void> {
    const blocks = await blocksOf(this.sources, tenant);
    await Promise.all(blocks.map((b) => b.tagNames(['span'], { filter: NO_FILTER, run: null })));
  }
}

const NO_FILTER: BlockSearchFilter = { conditions: { conditions: [], allConditions: false, needAllSpans: false } };

/**
 * `q` as blocks use it: the evaluator for blocks that evaluate, and a pre-filter for blocks that
 * filter by columns, used only when it describes matching spans exactly enough (like Tempo's
 * autocomplete filtering, only a single && filter narrows; anything else lists all).
 */
export function tagQuery(req: Pick<TagRequest, 'query' | 'signal'>): TagQuery {
  const signal = req.signal !== undefined ? { signal: req.signal } : {};
  if (req.query === undefined) return { filter: NO_FILTER, run: null, ...signal };
  const c = extractConditions(req.query);
  const narrow = c.allConditions && !c.needAllSpans;
  return { filter: narrow ? { conditions: c } : NO_FILTER, run: compile(req.query), query: req.query, ...signal };
}

/** `p`, or the signal's reason as soon as it aborts (cached block answers do not watch the signal). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The leading values whose text adds up to at most `maxBytes` (0: all), as Tempo cuts tag-value answers. */
function withinBytes(values: TypedValue[], maxBytes: number): TypedValue[] {
  if (maxBytes <= 0) return values;
  let bytes = 0;
  for (let i = 0; i < values.length; i++) {
    bytes += Buffer.byteLength(values[i]!.value);
    if (bytes > maxBytes) return values.slice(0, i);
  }
  return values;
}
