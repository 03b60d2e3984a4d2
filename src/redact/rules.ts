/**
 * Redaction rules as the hot path uses them: compiled once per tenant config (RE2 patterns, the
 * detectors' prefilter bits, scope bits), and what each rule does to a matched string. User patterns
 * run on re2js (linear time), never on the JS RegExp engine.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { RE2JS } from 're2js';
import { ConfigError } from '../config/errors.js';
import type { RedactionAction, RedactionConfig, RedactionRule, RedactionScope } from '../config/redaction.js';
import { DETECTORS, HINT_ANY, normalizeRanges, type Detector, type Ranges } from './detectors.js';

const CLEAN_MAX_ENTRIES = 4096;
const CLEAN_MAX_LENGTH = 512;

export const SCOPE_BITS: Readonly<Record<RedactionScope, number>> = { resource: 1, scope: 2, span: 4, event: 8, link: 16 };

export interface CompiledRule {
  /** Label for the metric: the rule's name, or its position. */
  readonly label: string;
  readonly action: RedactionAction;
  readonly scopes: number;
  readonly spanName: boolean;
  /** null = every key. */
  readonly keys: ReadonlySet<string> | null;
  readonly keyPattern: RE2JS | null;
  /** True when the rule looks inside values (detectors or value_pattern); else it takes the whole value. */
  readonly inValues: boolean;
  readonly detectors: readonly Detector[];
  readonly valuePattern: RE2JS | null;
  /**
   * Values valuePattern was run on and did not match. Attribute values repeat (the same query text,
   * the same URL) and re2js costs microseconds per value, so a hit skips it. Bounded; short values only.
   */
  readonly clean: Set<string>;
  /** Hint bits any of which make the value worth decoding. */
  readonly hints: number;
  readonly replacement: string;
  readonly keepLast: number;
}

export interface CompiledRules {
  /** Attribute rules, in order. */
  readonly attributes: readonly CompiledRule[];
  /** Span-name rules, in order. */
  readonly names: readonly CompiledRule[];
  /** Keyed hash of a string; `hmac:` and 16 hex digits. */
  hash(value: string | Uint8Array): string;
}

function compileRule(rule: RedactionRule, index: number, where: string): CompiledRule {
  let scopes = 0;
  for (const s of rule.scopes) scopes |= SCOPE_BITS[s];
  const detectors = rule.detectors.map((d) => DETECTORS[d]);
  const valuePattern = rule.value_pattern !== '' ? RE2JS.compile(rule.value_pattern) : null;
  let hints = 0;
  for (const d of detectors) hints |= d.hint;
  if (valuePattern !== null) hints |= HINT_ANY;
  return {
    label: rule.name !== '' ? rule.name : `${where}[${index}]`,
    action: rule.action,
    scopes,
    spanName: rule.span_name,
    keys: rule.keys.length > 0 ? new Set(rule.keys) : null,
    keyPattern: rule.key_pattern !== '' ? RE2JS.compile(rule.key_pattern) : null,
    inValues: detectors.length > 0 || valuePattern !== null,
    detectors,
    valuePattern,
    clean: new Set(),
    hints,
    replacement: rule.replacement,
    keepLast: rule.keep_last,
  };
}

/** The HMAC key of a redaction section: hash_key, else hash_key_file, else hash_key_env. */
function hashKey(cfg: RedactionConfig, where: string): string {
  if (cfg.hash_key !== '') return cfg.hash_key;
  if (cfg.hash_key_file !== '') {
    try {
      return readFileSync(cfg.hash_key_file, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`${where}.hash_key_file: cannot read ${cfg.hash_key_file}: ${(err as Error).message}`, `${where}.hash_key_file`);
    }
  }
  if (cfg.hash_key_env !== '') return process.env[cfg.hash_key_env] ?? '';
  return '';
}

/**
 * Compiles the rules that apply to one tenant: `base` (overrides.defaults) first, then `own` (the
 * tenant's) when they are not the defaults themselves. The tenant's key, when it has one, hashes both.
 */
export function compileRules(base: RedactionConfig, own: RedactionConfig | null, where: string): CompiledRules {
  const list: CompiledRule[] = base.rules.map((r, i) => compileRule(r, i, 'defaults'));
  if (own !== null) list.push(...own.rules.map((r, i) => compileRule(r, i, where)));
  const key = (own !== null ? hashKey(own, `overrides.${where}.redaction`) : '') || hashKey(base, 'overrides.defaults.redaction');
  if (key === '' && list.some((r) => r.action === 'hash')) {
    throw new ConfigError(
      `overrides.${where}.redaction.hash_key: hash rules need a key: set hash_key, hash_key_file or hash_key_env`,
      `overrides.${where}.redaction.hash_key`,
    );
  }
  return {
    attributes: list.filter((r) => !r.spanName),
    names: list.filter((r) => r.spanName),
    hash: (value) => `hmac:${createHmac('sha256', key).update(value).digest('hex').slice(0, 16)}`,
  };
}

/** True when the rule covers this key (key selectors only; scopes are checked by the caller). */
export function ruleCoversKey(rule: CompiledRule, key: string): boolean {
  if (rule.keys === null && rule.keyPattern === null) return true;
  if (rule.keys?.has(key) === true) return true;
  return rule.keyPattern?.matches(key) === true;
}

/** What a rule puts in place of one matched string. */
export function replaceMatch(rule: CompiledRule, rules: CompiledRules, match: string): string {
  if (rule.action === 'hash') return rules.hash(match);
  const keep = rule.keepLast > 0 ? match.slice(Math.max(0, match.length - rule.keepLast)) : '';
  return rule.replacement + keep;
}

/**
 * Applies a value-looking rule (detectors, value_pattern) to `s`: null when nothing matched, else
 * the new string (for drop: the caller drops; the string returned is then meaningless but non-null).
 */
export function applyInValue(rule: CompiledRule, rules: CompiledRules, s: string, hints: number): string | null {
  const ranges: Ranges = [];
  for (const d of rule.detectors) if ((d.hint & hints) !== 0) d.find(s, ranges);
  if (rule.valuePattern !== null && !rule.clean.has(s)) {
    const before = ranges.length;
    const m = rule.valuePattern.matcher(s);
    let from = 0;
    while (from <= s.length && m.find(from)) {
      const a = m.start();
      const b = m.end();
      if (b > a) ranges.push(a, b);
      from = b > a ? b : b + 1;
    }
    if (ranges.length === before && s.length <= CLEAN_MAX_LENGTH) {
      if (rule.clean.size >= CLEAN_MAX_ENTRIES) rule.clean.clear();
      rule.clean.add(s);
    }
  }
  if (ranges.length === 0) return null;
  if (rule.action === 'drop') return '';
  normalizeRanges(ranges);
  let out = '';
  let at = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    const a = ranges[i]!;
    const b = ranges[i + 1]!;
    out += s.slice(at, a) + replaceMatch(rule, rules, s.slice(a, b));
    at = b;
  }
  return out + s.slice(at);
}
