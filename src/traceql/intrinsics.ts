import type { IntrinsicName, StaticType } from './ast.js';

/**
 * The one table of TraceQL intrinsics: how each is spelled (bare `duration`, scoped `span:duration`),
 * its type, and whether the tag-names endpoint lists it. The lexer, the parser, type checking,
 * condition extraction and the tag APIs all derive from it.
 */
export interface IntrinsicDef {
  /** Static type, or 'attribute' when only known at run time (`parent`). */
  readonly type: StaticType | 'attribute';
  /** Bare spelling (`duration`), when it has one. */
  readonly bare?: string;
  /** Scoped spelling (`span:duration`), when it has one. */
  readonly scoped?: `${'span' | 'trace' | 'event' | 'link' | 'instrumentation'}:${string}`;
  /** Listed under the `intrinsic` scope of /api/v2/search/tags (in every spelling), as Tempo does. */
  readonly listed: boolean;
}

export const INTRINSICS: Readonly<Record<IntrinsicName, IntrinsicDef>> = {
  duration: { type: 'duration', bare: 'duration', scoped: 'span:duration', listed: true },
  name: { type: 'string', bare: 'name', scoped: 'span:name', listed: true },
  status: { type: 'status', bare: 'status', scoped: 'span:status', listed: true },
  statusMessage: { type: 'string', bare: 'statusMessage', scoped: 'span:statusMessage', listed: true },
  kind: { type: 'kind', bare: 'kind', scoped: 'span:kind', listed: true },
  childCount: { type: 'int', bare: 'childCount', scoped: 'span:childCount', listed: false },
  parent: { type: 'attribute', bare: 'parent', listed: false },
  spanID: { type: 'string', scoped: 'span:id', listed: true },
  parentID: { type: 'string', scoped: 'span:parentID', listed: true },
  traceDuration: { type: 'duration', bare: 'traceDuration', scoped: 'trace:duration', listed: true },
  rootName: { type: 'string', bare: 'rootName', scoped: 'trace:rootName', listed: true },
  rootServiceName: { type: 'string', bare: 'rootServiceName', scoped: 'trace:rootService', listed: true },
  traceID: { type: 'string', scoped: 'trace:id', listed: true },
  eventName: { type: 'string', scoped: 'event:name', listed: true },
  eventTimeSinceStart: { type: 'duration', scoped: 'event:timeSinceStart', listed: true },
  linkTraceID: { type: 'string', scoped: 'link:traceID', listed: true },
  linkSpanID: { type: 'string', scoped: 'link:spanID', listed: true },
  instrumentationName: { type: 'string', scoped: 'instrumentation:name', listed: true },
  instrumentationVersion: { type: 'string', scoped: 'instrumentation:version', listed: true },
  nestedSetLeft: { type: 'int', bare: 'nestedSetLeft', listed: false },
  nestedSetRight: { type: 'int', bare: 'nestedSetRight', listed: false },
  nestedSetParent: { type: 'int', bare: 'nestedSetParent', listed: false },
};

const ENTRIES = Object.entries(INTRINSICS) as [IntrinsicName, IntrinsicDef][];

/** Bare spellings (`duration`) → intrinsic. */
export const BARE_INTRINSICS: Readonly<Record<string, IntrinsicName>> = Object.fromEntries(
  ENTRIES.flatMap(([n, d]) => (d.bare === undefined ? [] : [[d.bare, n]])),
);

/** Scoped spellings by scope word and name (`span` → `id` → spanID). */
export const SCOPED_INTRINSICS: Readonly<Record<string, Readonly<Record<string, IntrinsicName>>>> = (() => {
  const out: Record<string, Record<string, IntrinsicName>> = {};
  for (const [n, d] of ENTRIES) {
    if (d.scoped === undefined) continue;
    const [scope, name] = d.scoped.split(':') as [string, string];
    (out[scope] ??= {})[name] = n;
  }
  return out;
})();

/** Every spelling the tag-names endpoint lists under `intrinsic`, sorted. */
export const LISTED_INTRINSIC_TAGS: readonly string[] = ENTRIES.flatMap(([, d]) =>
  d.listed ? [d.bare, d.scoped].filter((s): s is string => s !== undefined) : [],
).sort();

/** The intrinsic a tag name spells (`span:status`, `status`, `trace:rootService`), if any. */
export function intrinsicByTagName(tag: string): IntrinsicName | undefined {
  const bare = BARE_INTRINSICS[tag];
  if (bare !== undefined) return bare;
  const at = tag.indexOf(':');
  return at < 0 ? undefined : SCOPED_INTRINSICS[tag.slice(0, at)]?.[tag.slice(at + 1)];
}

/** The name an intrinsic is known by in messages and tag lists: its bare spelling, else its scoped one. */
export function intrinsicTagName(name: IntrinsicName): string {
  const d = INTRINSICS[name];
  return d.bare ?? d.scoped ?? name;
}
