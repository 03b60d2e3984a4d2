/**
 * Redaction on the encoded OTLP bytes a batch keeps (see model/batch.ts): walks the resource, scope
 * and span messages down to their KeyValues and span names, and builds new bytes only for the
 * messages a rule changes. This runs for every attribute of every span pushed, so it reads the wire
 * format inline (no reader object per message), finds a key's rules by its bytes (no string made for
 * a key already seen), and rules a string value out by a one-pass byte check before decoding it. The
 * input was validated by the request scan (otlp/scan.ts) before it gets here; the bounds checks below
 * only keep a bug from reading past a message.
 */
import { OtlpDecodeError } from '../otlp/errors.js';
import { utf8Decode, varintSize } from '../otlp/wire.js';
import { HINT_ANY, valueHints } from './detectors.js';
import { applyInValue, replaceMatch, ruleCoversKey, SCOPE_BITS, type CompiledRule, type CompiledRules } from './rules.js';

/** A field's fate: undefined = unchanged, DROP = removed, bytes = its new content (without tag/length). */
const DROP = 0;
type Edit = Uint8Array | typeof DROP | undefined;

const ALL_HINTS = 0x7fffffff;
const KEY_CACHE_MAX = 4096;
const encoder = new TextEncoder();

/** What the rules say about one attribute key. */
interface KeyEntry {
  readonly bytes: Uint8Array;
  /** The key that followed this one last time: messages of one batch repeat their key order. */
  next: KeyEntry | null;
  /** The rules covering the key, in order. */
  readonly rules: readonly CompiledRule[];
  /** Scope bits in which some rule takes the whole value (drop, mask or hash it as it is). */
  readonly wholeScopes: number;
  /** Scope bits in which some rule looks inside string values. */
  readonly valueScopes: number;
  /** Hint bits of those rules: a string value none of whose hints is set is left alone undecoded. */
  readonly hints: number;
}

function fnv(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return h >>> 0;
}

function sameBytes(a: Uint8Array, buf: Uint8Array, start: number, end: number): boolean {
  if (a.length !== end - start) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== buf[start + i]) return false;
  return true;
}

/** Per-tenant state of the walk: the rules, what each key meets (cached by the key's bytes), and what was applied. */
export class RewriteContext {
  private readonly byHash = new Map<number, KeyEntry[]>();
  private size = 0;
  /** The previous attribute's key in the message being walked (a chain start for the first one). */
  private prev: KeyEntry;
  private readonly start: KeyEntry;
  /** Rule label → attributes / names changed, for the metric; reset by the caller. */
  readonly applied = new Map<string, number>();
  readonly hasNameRules: boolean;

  constructor(readonly rules: CompiledRules) {
    this.hasNameRules = rules.names.length > 0;
    this.start = { bytes: new Uint8Array(0), next: null, rules: [], wholeScopes: 0, valueScopes: 0, hints: 0 };
    this.prev = this.start;
  }

  /** Starts a new message: the next key is predicted from the start of the chain. */
  beginMessage(): void {
    this.prev = this.start;
  }

  entry(buf: Uint8Array, start: number, end: number): KeyEntry {
    const predicted = this.prev.next;
    if (predicted !== null && sameBytes(predicted.bytes, buf, start, end)) {
      this.prev = predicted;
      return predicted;
    }
    const e = this.lookup(buf, start, end);
    this.prev.next = e;
    this.prev = e;
    return e;
  }

  private lookup(buf: Uint8Array, start: number, end: number): KeyEntry {
    const h = fnv(buf, start, end);
    let bucket = this.byHash.get(h);
    if (bucket !== undefined) {
      for (let i = 0; i < bucket.length; i++) {
        const e = bucket[i]!;
        if (sameBytes(e.bytes, buf, start, end)) return e;
      }
    }
    // Keys are few in practice; a flood of distinct keys must not grow this without bound.
    if (this.size >= KEY_CACHE_MAX) {
      this.byHash.clear();
      this.size = 0;
      this.start.next = null;
      bucket = undefined;
    }
    const key = utf8Decode(buf, start, end);
    const rules = this.rules.attributes.filter((r) => ruleCoversKey(r, key));
    let wholeScopes = 0;
    let valueScopes = 0;
    let hints = 0;
    for (const r of rules) {
      if (r.inValues) {
        valueScopes |= r.scopes;
        hints |= r.hints;
      } else wholeScopes |= r.scopes;
    }
    // A copy: Buffer's slice is a view, which would keep the whole request alive in this cache.
    const e: KeyEntry = { bytes: Uint8Array.prototype.slice.call(buf, start, end), next: null, rules, wholeScopes, valueScopes, hints };
    if (bucket === undefined) this.byHash.set(h, [e]);
    else bucket.push(e);
    this.size++;
    return e;
  }

  count(rule: CompiledRule): void {
    this.applied.set(rule.label, (this.applied.get(rule.label) ?? 0) + 1);
  }
}

// ---------------------------------------------------------------------------------------- wire reading

/** Position after the last varint read (a module-level out parameter: no object per read). */
let vpos = 0;

function truncated(pos: number): never {
  throw new OtlpDecodeError(`redaction: truncated field at offset ${pos}`);
}

/** Reads a varint at `pos` (below 2^53); the position after it is left in `vpos`. */
function varint(buf: Uint8Array, pos: number, end: number): number {
  if (pos >= end) truncated(pos);
  let b = buf[pos++]!;
  if (b < 0x80) {
    vpos = pos;
    return b;
  }
  let result = b & 0x7f;
  let mul = 128;
  for (;;) {
    if (pos >= end) truncated(pos);
    b = buf[pos++]!;
    result += (b & 0x7f) * mul;
    if (b < 0x80) break;
    mul *= 128;
  }
  vpos = pos;
  return result;
}

/** The position after a field's value of wire type `wt` starting at `pos`. */
function skip(buf: Uint8Array, pos: number, end: number, wt: number): number {
  let p: number;
  switch (wt) {
    case 0:
      varint(buf, pos, end);
      p = vpos;
      break;
    case 1:
      p = pos + 8;
      break;
    case 2: {
      const n = varint(buf, pos, end);
      p = vpos + n;
      break;
    }
    case 5:
      p = pos + 4;
      break;
    default:
      throw new OtlpDecodeError(`redaction: unsupported wire type ${wt} at offset ${pos}`);
  }
  if (p > end) truncated(pos);
  return p;
}

// ---------------------------------------------------------------------------------------- writing

function putVarint(out: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    out[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[pos++] = n;
  return pos;
}

/** tag + length + content. */
function lenField(tag: number, content: Uint8Array): Uint8Array {
  const out = new Uint8Array(varintSize(tag) + varintSize(content.length) + content.length);
  let p = putVarint(out, 0, tag);
  p = putVarint(out, p, content.length);
  out.set(content, p);
  return out;
}

/** An AnyValue holding a string. */
function stringAnyValue(s: string): Uint8Array {
  return lenField(0x0a, encoder.encode(s));
}

type FieldEditor = (buf: Uint8Array, tag: number, cs: number, ce: number, ctx: RewriteContext) => Edit;

/**
 * Walks the fields of the message in [start, end) and lets `edit` decide the fate of each
 * length-delimited field. Returns the new message content, or undefined if nothing changed.
 */
function rewriteFields(buf: Uint8Array, start: number, end: number, ctx: RewriteContext, edit: FieldEditor): Uint8Array | undefined {
  let edits: number[] | null = null;
  let contents: (Uint8Array | null)[] | null = null;
  let pos = start;
  while (pos < end) {
    const from = pos;
    const t = varint(buf, pos, end);
    pos = vpos;
    if ((t & 7) !== 2) {
      pos = skip(buf, pos, end, t & 7);
      continue;
    }
    const n = varint(buf, pos, end);
    const cs = vpos;
    const ce = cs + n;
    if (ce > end) truncated(pos);
    pos = ce;
    const e = edit(buf, t, cs, ce, ctx);
    if (e === undefined) continue;
    (edits ??= []).push(from, ce, t);
    (contents ??= []).push(e === DROP ? null : e);
  }
  if (edits === null || contents === null) return undefined;
  const parts: Uint8Array[] = [];
  let at = start;
  for (let i = 0; i < contents.length; i++) {
    const from = edits[i * 3]!;
    const content = contents[i]!;
    if (from > at) parts.push(buf.subarray(at, from));
    if (content !== null) parts.push(lenField(edits[i * 3 + 2]!, content));
    at = edits[i * 3 + 1]!;
  }
  if (end > at) parts.push(buf.subarray(at, end));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------- attributes

/** Applies the rules of `entry` to an AnyValue in [vs, ve) in `scope`; `tag`/[cs, ce) is its (last) field. */
function applyRules(buf: Uint8Array, vs: number, ve: number, tag: number, cs: number, ce: number, entry: KeyEntry, scope: number, ctx: RewriteContext): Edit {
  const isString = tag === 0x0a;
  let s: string | null = null;
  let hints = -1;
  let changed = false;
  for (const rule of entry.rules) {
    if ((rule.scopes & scope) === 0) continue;
    if (!rule.inValues) {
      ctx.count(rule);
      if (rule.action === 'drop') return DROP;
      if (isString && s === null) s = utf8Decode(buf, cs, ce);
      // A non-string value is hashed as its encoded bytes: equal values still hash equally.
      s = s !== null ? replaceMatch(rule, ctx.rules, s) : rule.action === 'hash' ? ctx.rules.hash(buf.subarray(vs, ve)) : rule.replacement;
      hints = ALL_HINTS;
      changed = true;
      continue;
    }
    if (s === null) {
      if (!isString) continue;
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
  return changed ? stringAnyValue(s ?? '') : undefined;
}

/** The rules of a key applied to its AnyValue in [vs, ve), lists and maps included. */
function rewriteAnyValue(buf: Uint8Array, vs: number, ve: number, entry: KeyEntry, scope: number, ctx: RewriteContext): Edit {
  // AnyValue is a oneof: the last field present is the value.
  let tag = 0;
  let cs = vs;
  let ce = vs;
  let pos = vs;
  while (pos < ve) {
    tag = varint(buf, pos, ve);
    pos = vpos;
    if ((tag & 7) === 2) {
      const n = varint(buf, pos, ve);
      cs = vpos;
      ce = cs + n;
      pos = ce;
    } else pos = skip(buf, pos, ve, tag & 7);
  }
  if (pos > ve) truncated(vs);
  if ((entry.wholeScopes & scope) === 0) {
    // Only rules that look inside strings: most values are ruled out here without decoding.
    if (tag === 0x0a) {
      if ((entry.valueScopes & scope) === 0) return undefined;
      const hints = entry.hints & HINT_ANY ? ALL_HINTS : valueHints(buf, cs, ce);
      if ((hints & entry.hints) === 0) return undefined;
    } else if (tag === 0x2a) {
      // A list: value rules look at each element.
      if ((entry.valueScopes & scope) === 0) return undefined;
      const list = rewriteFields(buf, cs, ce, ctx, (b, t, a, z, c) => (t === 0x0a ? rewriteAnyValue(b, a, z, entry, scope, c) : undefined));
      return list === undefined ? undefined : lenField(0x2a, list);
    } else if (tag === 0x32) {
      // A map: its entries meet the rules of their own keys.
      const map = rewriteFields(buf, cs, ce, ctx, (b, t, a, z, c) => (t === 0x0a ? rewriteKeyValue(b, a, z, scope, c) : undefined));
      return map === undefined ? undefined : lenField(0x32, map);
    } else return undefined;
  }
  return applyRules(buf, vs, ve, tag, cs, ce, entry, scope, ctx);
}

/** Applies the rules to one KeyValue in [start, end). */
function rewriteKeyValue(buf: Uint8Array, start: number, end: number, scope: number, ctx: RewriteContext): Edit {
  let ks = start;
  let ke = start;
  let vs = -1;
  let ve = -1;
  let pos = start;
  while (pos < end) {
    const t = varint(buf, pos, end);
    pos = vpos;
    if (t === 0x0a || t === 0x12) {
      const n = varint(buf, pos, end);
      const a = vpos;
      pos = a + n;
      if (t === 0x0a) {
        ks = a;
        ke = pos;
      } else {
        vs = a;
        ve = pos;
      }
    } else pos = skip(buf, pos, end, t & 7);
  }
  if (vs < 0 || pos > end) return undefined;
  const entry = ctx.entry(buf, ks, ke);
  // Nothing covers this key: only a map value (whose keys are its own) can still hold a match.
  if (entry.rules.length === 0 && buf[vs] !== 0x32) return undefined;
  const value = rewriteAnyValue(buf, vs, ve, entry, scope, ctx);
  if (value === undefined || value === DROP) return value;
  return Buffer.concat([lenField(0x0a, buf.subarray(ks, ke)), lenField(0x12, value)]);
}

// ---------------------------------------------------------------------------------------- messages

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

const eventField: FieldEditor = (buf, t, a, b, ctx) => (t === 0x1a ? rewriteKeyValue(buf, a, b, EVENT, ctx) : undefined);
const linkField: FieldEditor = (buf, t, a, b, ctx) => (t === 0x22 ? rewriteKeyValue(buf, a, b, LINK, ctx) : undefined);

/** Span fields: name (5), attributes (9), events (11, attributes 3), links (13, attributes 4). */
const spanField: FieldEditor = (buf, t, cs, ce, ctx) => {
  switch (t) {
    case 0x4a:
      return rewriteKeyValue(buf, cs, ce, SPAN, ctx);
    case 0x2a: {
      if (!ctx.hasNameRules) return undefined;
      const next = applyNameRules(utf8Decode(buf, cs, ce), ctx);
      return next === null ? undefined : encoder.encode(next);
    }
    case 0x5a:
      return rewriteFields(buf, cs, ce, ctx, eventField);
    case 0x6a:
      return rewriteFields(buf, cs, ce, ctx, linkField);
    default:
      return undefined;
  }
};

/** A Span message, rewritten; undefined when no rule changed it. */
export function rewriteSpan(span: Uint8Array, ctx: RewriteContext): Uint8Array | undefined {
  ctx.beginMessage();
  return rewriteFields(span, 0, span.length, ctx, spanField);
}

const resourceAttr: FieldEditor = (buf, t, a, b, ctx) => (t === 0x0a ? rewriteKeyValue(buf, a, b, RESOURCE, ctx) : undefined);
const resourceField: FieldEditor = (buf, t, a, b, ctx) => (t === 0x0a ? rewriteFields(buf, a, b, ctx, resourceAttr) : undefined);

/** A ResourceSpans without its scope_spans: resource (1) → attributes (1). */
export function rewriteResource(bytes: Uint8Array, ctx: RewriteContext): Uint8Array | undefined {
  ctx.beginMessage();
  return rewriteFields(bytes, 0, bytes.length, ctx, resourceField);
}

const scopeAttr: FieldEditor = (buf, t, a, b, ctx) => (t === 0x1a ? rewriteKeyValue(buf, a, b, SCOPE, ctx) : undefined);
const scopeField: FieldEditor = (buf, t, a, b, ctx) => (t === 0x0a ? rewriteFields(buf, a, b, ctx, scopeAttr) : undefined);

/** A ScopeSpans without its spans: scope (1) → attributes (3). */
export function rewriteScope(bytes: Uint8Array, ctx: RewriteContext): Uint8Array | undefined {
  ctx.beginMessage();
  return rewriteFields(bytes, 0, bytes.length, ctx, scopeField);
}
