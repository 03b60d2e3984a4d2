/**
 * Redaction on the encoded OTLP bytes a batch keeps (see model/batch.ts): walks the resource, scope
 * and span messages down to their KeyValues and span names, and builds new bytes only for the
 * messages a rule changes. A message nothing matches costs one walk and no allocation beyond its
 * reader, so the ingest hot path stays on raw bytes. The input was validated by the request scan
 * (otlp/scan.ts) before it gets here, nesting depth included.
 */
import { utf8Decode, varintSize, WIRE_LEN, WireReader } from '../otlp/wire.js';
import { valueHints } from './detectors.js';
import { applyInValue, replaceMatch, ruleCoversKey, SCOPE_BITS, type CompiledRule, type CompiledRules } from './rules.js';

/** A field's fate: undefined = unchanged, DROP = removed, bytes = its new content (without tag/length). */
const DROP = 0;
type Edit = Uint8Array | typeof DROP | undefined;

const ALL_HINTS = 0x7fffffff;
const KEY_CACHE_MAX = 4096;
const encoder = new TextEncoder();

/** Per-tenant state of the walk: the rules, the rules each key meets (cached), and what was applied. */
export class RewriteContext {
  private readonly byKey = new Map<string, readonly CompiledRule[]>();
  /** Rule label → attributes / names changed, for the metric; reset by the caller. */
  readonly applied = new Map<string, number>();

  constructor(readonly rules: CompiledRules) {}

  rulesForKey(key: string): readonly CompiledRule[] {
    let list = this.byKey.get(key);
    if (list === undefined) {
      list = this.rules.attributes.filter((r) => ruleCoversKey(r, key));
      // Keys are few in practice; a flood of distinct keys must not grow this without bound.
      if (this.byKey.size >= KEY_CACHE_MAX) this.byKey.clear();
      this.byKey.set(key, list);
    }
    return list;
  }

  count(rule: CompiledRule): void {
    this.applied.set(rule.label, (this.applied.get(rule.label) ?? 0) + 1);
  }
}

/** tag + length + content. */
function lenField(tag: number, content: Uint8Array): Uint8Array {
  const out = new Uint8Array(varintSize(tag) + varintSize(content.length) + content.length);
  let p = putVarint(out, 0, tag);
  p = putVarint(out, p, content.length);
  out.set(content, p);
  return out;
}

function putVarint(out: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    out[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[pos++] = n;
  return pos;
}

/** An AnyValue holding a string. */
function stringAnyValue(s: string): Uint8Array {
  return lenField(0x0a, encoder.encode(s));
}

/**
 * Walks the fields of the message in [start, end) and lets `edit` decide the fate of each
 * length-delimited field it cares about. Returns the new message content, or undefined if unchanged.
 */
function rewriteFields(buf: Uint8Array, start: number, end: number, edit: (tag: number, cs: number, ce: number) => Edit): Uint8Array | undefined {
  const r = new WireReader(buf, start, end);
  let edits: { from: number; to: number; tag: number; content: Uint8Array | null }[] | null = null;
  while (r.pos < end) {
    const from = r.pos;
    const t = r.tag();
    if ((t & 7) !== WIRE_LEN) {
      r.skip(t & 7);
      continue;
    }
    const ce = r.lenEnd();
    const cs = r.pos;
    r.pos = ce;
    const e = edit(t, cs, ce);
    if (e === undefined) continue;
    (edits ??= []).push({ from, to: ce, tag: t, content: e === DROP ? null : e });
  }
  if (edits === null) return undefined;
  const parts: Uint8Array[] = [];
  let at = start;
  for (const e of edits) {
    if (e.from > at) parts.push(buf.subarray(at, e.from));
    if (e.content !== null) parts.push(lenField(e.tag, e.content));
    at = e.to;
  }
  if (end > at) parts.push(buf.subarray(at, end));
  return Buffer.concat(parts);
}

/** The value as a string for whole-value rules; a non-string value's bytes are hashed as they are. */
function wholeValue(rule: CompiledRule, ctx: RewriteContext, current: string | null, raw: Uint8Array): string {
  if (current !== null) return replaceMatch(rule, ctx.rules, current);
  return rule.action === 'hash' ? ctx.rules.hash(raw) : rule.replacement;
}

/** Applies the rules a key meets to its AnyValue in [vs, ve). */
function rewriteAnyValue(buf: Uint8Array, vs: number, ve: number, list: readonly CompiledRule[], scope: number, ctx: RewriteContext): Edit {
  // AnyValue is a oneof: the last field present is the value.
  const r = new WireReader(buf, vs, ve);
  let tag = 0;
  let cs = vs;
  let ce = vs;
  while (r.pos < ve) {
    tag = r.tag();
    if ((tag & 7) === WIRE_LEN) {
      ce = r.lenEnd();
      cs = r.pos;
      r.pos = ce;
    } else r.skip(tag & 7);
  }
  const isString = tag === 0x0a;
  let s: string | null = null;
  let hints = -1;
  let changed = false;
  let inValuesApply = false;
  for (const rule of list) {
    if ((rule.scopes & scope) === 0) continue;
    if (!rule.inValues) {
      if (rule.action === 'drop') {
        ctx.count(rule);
        return DROP;
      }
      if (isString && s === null) s = utf8Decode(buf, cs, ce);
      s = wholeValue(rule, ctx, s, buf.subarray(vs, ve));
      hints = ALL_HINTS;
      changed = true;
      ctx.count(rule);
      continue;
    }
    inValuesApply = true;
    if (!isString && !changed) continue;
    if (s === null) {
      if (hints < 0) hints = valueHints(buf, cs, ce);
      if ((hints & rule.hints) === 0) continue;
      s = utf8Decode(buf, cs, ce);
    }
    const next = applyInValue(rule, ctx.rules, s, hints);
    if (next === null) continue;
    ctx.count(rule);
    if (rule.action === 'drop') return DROP;
    s = next;
    hints = ALL_HINTS;
    changed = true;
  }
  if (changed) return stringAnyValue(s ?? '');
  // Lists and maps: value rules look at each element; a map's entries meet the rules of their own keys.
  if (tag === 0x2a && inValuesApply) {
    return rewriteFields(buf, cs, ce, (t, a, b) => (t === 0x0a ? rewriteAnyValue(buf, a, b, list, scope, ctx) : undefined));
  }
  if (tag === 0x32) return rewriteFields(buf, cs, ce, (t, a, b) => (t === 0x0a ? rewriteKeyValue(buf, a, b, scope, ctx) : undefined));
  return undefined;
}

/** Applies the rules to one KeyValue in [start, end). */
function rewriteKeyValue(buf: Uint8Array, start: number, end: number, scope: number, ctx: RewriteContext): Edit {
  const r = new WireReader(buf, start, end);
  let ks = start;
  let ke = start;
  let vs = -1;
  let ve = -1;
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x0a) {
      ke = r.lenEnd();
      ks = r.pos;
      r.pos = ke;
    } else if (t === 0x12) {
      ve = r.lenEnd();
      vs = r.pos;
      r.pos = ve;
    } else r.skip(t & 7);
  }
  if (vs < 0) return undefined;
  const list = ctx.rulesForKey(utf8Decode(buf, ks, ke));
  // Nothing covers this key: only a map value (whose keys are its own) can still hold a match.
  if (list.length === 0 && buf[vs] !== 0x32) return undefined;
  const value = rewriteAnyValue(buf, vs, ve, list, scope, ctx);
  if (value === undefined || value === DROP) return value;
  return Buffer.concat([lenField(0x0a, buf.subarray(ks, ke)), lenField(0x12, value)]);
}

function applyNameRules(name: string, ctx: RewriteContext): string | null {
  let s = name;
  let changed = false;
  for (const rule of ctx.rules.names) {
    const next = rule.inValues ? applyInValue(rule, ctx.rules, s, ALL_HINTS) : replaceMatch(rule, ctx.rules, s);
    if (next === null) continue;
    ctx.count(rule);
    s = next;
    changed = true;
  }
  return changed ? s : null;
}

const SPAN = SCOPE_BITS.span;
const EVENT = SCOPE_BITS.event;
const LINK = SCOPE_BITS.link;
const RESOURCE = SCOPE_BITS.resource;
const SCOPE = SCOPE_BITS.scope;

/** A Span message: name (5), attributes (9), events (11, attributes 3), links (13, attributes 4). */
export function rewriteSpan(span: Uint8Array, ctx: RewriteContext): Uint8Array | undefined {
  const hasNames = ctx.rules.names.length > 0;
  return rewriteFields(span, 0, span.length, (t, cs, ce) => {
    switch (t) {
      case 0x4a:
        return rewriteKeyValue(span, cs, ce, SPAN, ctx);
      case 0x2a: {
        if (!hasNames) return undefined;
        const next = applyNameRules(utf8Decode(span, cs, ce), ctx);
        return next === null ? undefined : encoder.encode(next);
      }
      case 0x5a:
        return rewriteFields(span, cs, ce, (et, a, b) => (et === 0x1a ? rewriteKeyValue(span, a, b, EVENT, ctx) : undefined));
      case 0x6a:
        return rewriteFields(span, cs, ce, (lt, a, b) => (lt === 0x22 ? rewriteKeyValue(span, a, b, LINK, ctx) : undefined));
      default:
        return undefined;
    }
  });
}

/** A ResourceSpans without its scope_spans: resource (1) → attributes (1). */
export function rewriteResource(bytes: Uint8Array, ctx: RewriteContext): Uint8Array | undefined {
  return rewriteFields(bytes, 0, bytes.length, (t, cs, ce) =>
    t === 0x0a ? rewriteFields(bytes, cs, ce, (rt, a, b) => (rt === 0x0a ? rewriteKeyValue(bytes, a, b, RESOURCE, ctx) : undefined)) : undefined,
  );
}

/** A ScopeSpans without its spans: scope (1) → attributes (3). */
export function rewriteScope(bytes: Uint8Array, ctx: RewriteContext): Uint8Array | undefined {
  return rewriteFields(bytes, 0, bytes.length, (t, cs, ce) =>
    t === 0x0a ? rewriteFields(bytes, cs, ce, (st, a, b) => (st === 0x1a ? rewriteKeyValue(bytes, a, b, SCOPE, ctx) : undefined)) : undefined,
  );
}
