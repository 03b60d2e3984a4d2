/**
 * What the TraceQL editor needs to know about the text being typed: coloured tokens for the
 * highlighting layer, and what the caret is in (a tag name or a tag's value) to ask the tag APIs for
 * suggestions. A small scanner rather than a full parser: half-typed queries are the normal case
 * here, and the server's parser stays the one judge of what is valid.
 */

export type TokenKind = 'brace' | 'attribute' | 'intrinsic' | 'operator' | 'string' | 'number' | 'keyword' | 'text';

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
}

const INTRINSICS = new Set([
  'name',
  'status',
  'statusMessage',
  'kind',
  'duration',
  'rootName',
  'rootServiceName',
  'traceDuration',
  'nestedSetLeft',
  'nestedSetRight',
  'nestedSetParent',
  'parent',
  'childCount',
  'span:name',
  'span:status',
  'span:kind',
  'span:duration',
  'span:statusMessage',
  'span:id',
  'span:parentID',
  'trace:rootName',
  'trace:rootService',
  'trace:duration',
  'trace:id',
  'event:name',
  'event:timeSinceStart',
  'link:spanID',
  'link:traceID',
  'instrumentation:name',
  'instrumentation:version',
]);
const KEYWORDS = new Set([
  'true',
  'false',
  'nil',
  'ok',
  'error',
  'unset',
  'server',
  'client',
  'internal',
  'producer',
  'consumer',
  'unspecified',
  'by',
  'select',
  'count',
  'avg',
  'min',
  'max',
  'sum',
  'rate',
  'quantile_over_time',
  'count_over_time',
  'histogram_over_time',
  'with',
  'coalesce',
]);

const TOKEN =
  /(\s+)|("(?:[^"\\]|\\.)*"?|`[^`]*`?)|([{}()])|(&&|\|\||!=|=~|!~|>=|<=|>>|<<|~|=|>|<|!|\||\+|-(?=\s)|\*|\/|%|\^)|(\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h)?)|([A-Za-z_.:][\w.:\-/]*)|(.)/gy;

export function tokenize(q: string): Token[] {
  const out: Token[] = [];
  TOKEN.lastIndex = 0;
  let m: RegExpExecArray | null;
  while (TOKEN.lastIndex < q.length && (m = TOKEN.exec(q)) !== null) {
    const [all, space, string, brace, op, num, ident] = m;
    let kind: TokenKind = 'text';
    if (space !== undefined) kind = 'text';
    else if (string !== undefined) kind = 'string';
    else if (brace !== undefined) kind = 'brace';
    else if (op !== undefined) kind = 'operator';
    else if (num !== undefined) kind = 'number';
    else if (ident !== undefined) {
      if (INTRINSICS.has(ident)) kind = 'intrinsic';
      else if (KEYWORDS.has(ident)) kind = 'keyword';
      else kind = 'attribute';
    }
    out.push({ kind, text: all });
  }
  return out;
}

/** What the caret is in, for autocomplete. `from` is where the replaced text starts. */
export type AssistContext =
  | { readonly kind: 'tag'; readonly prefix: string; readonly from: number }
  | { readonly kind: 'value'; readonly tag: string; readonly prefix: string; readonly from: number }
  | { readonly kind: 'none' };

/** Finds the context at `caret`: inside braces, after `{`, `&&`, `||` a tag; after `tag op` a value. */
export function assistContext(q: string, caret: number): AssistContext {
  const before = q.slice(0, caret);
  const opens = (before.match(/\{/g) ?? []).length;
  const closes = (before.match(/\}/g) ?? []).length;
  if (opens <= closes) return { kind: 'none' };
  const value = /([A-Za-z_.:][\w.:\-/]*)\s*(=|!=|=~|!~|>=|<=|>|<)\s*("?[^"\s&|}]*)$/.exec(before);
  if (value !== null) {
    const tag = value[1] ?? '';
    const prefix = (value[3] ?? '').replace(/^"/, '');
    return { kind: 'value', tag, prefix, from: caret - (value[3] ?? '').length };
  }
  const tag = /(?:\{|&&|\|\||\()\s*([A-Za-z_.:][\w.:\-/]*)?$/.exec(before);
  if (tag !== null) {
    const prefix = tag[1] ?? '';
    return { kind: 'tag', prefix, from: caret - prefix.length };
  }
  return { kind: 'none' };
}

/** Tag names from /api/v2/search/tags as TraceQL writes them: `resource.x`, `span.x`, intrinsics bare. */
export function scopedTagNames(scopes: ReadonlyArray<{ name: string; tags: readonly string[] }>): string[] {
  const out: string[] = [];
  for (const s of scopes) {
    for (const t of s.tags) out.push(s.name === 'intrinsic' ? t : `${s.name}.${t}`);
  }
  return [...new Set(out)].sort();
}

/** The text a picked value inserts: strings quoted, numbers and keywords bare. */
export function valueLiteral(type: string, value: string): string {
  if (type === 'string') return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return value;
}

export interface BuilderFields {
  readonly service: string;
  readonly spanName: string;
  readonly status: string;
  readonly minDuration: string;
  readonly maxDuration: string;
}

/** The query the builder fields stand for; `{}` when all are empty. */
export function builderQuery(f: BuilderFields): string {
  const parts: string[] = [];
  if (f.service !== '') parts.push(`resource.service.name = ${valueLiteral('string', f.service)}`);
  if (f.spanName !== '') parts.push(`name = ${valueLiteral('string', f.spanName)}`);
  if (f.status !== '') parts.push(`status = ${f.status}`);
  if (f.minDuration !== '') parts.push(`duration > ${f.minDuration}`);
  if (f.maxDuration !== '') parts.push(`duration < ${f.maxDuration}`);
  return parts.length === 0 ? '{}' : `{ ${parts.join(' && ')} }`;
}
