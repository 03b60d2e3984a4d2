// The `redaction:` section of a tenant's overrides (rubato's own; Tempo leaves this to a collector).
// It lives here, beside the rest of the schema, so that a bad rule (a pattern RE2 refuses, an unknown
// action, a rule that selects nothing) stops start-up with the dotted key at fault, and so that
// -config.verify catches it too.
import { existsSync } from 'node:fs';
import { RE2JS } from 're2js';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { bool, int, section, secret, str, strList } from './fields.js';

export const REDACTION_SCOPES = ['resource', 'scope', 'span', 'event', 'link'] as const;
export type RedactionScope = (typeof REDACTION_SCOPES)[number];

export const REDACTION_DETECTORS = ['card_number', 'email', 'bearer_token', 'jwt', 'ipv4', 'ipv6'] as const;
export type RedactionDetector = (typeof REDACTION_DETECTORS)[number];

export const REDACTION_ACTIONS = ['drop', 'mask', 'hash'] as const;
export type RedactionAction = (typeof REDACTION_ACTIONS)[number];

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'a list';
  if (v !== null && typeof v === 'object') return 'a mapping';
  return String(v);
}

/** A list whose every item is one of `values`. */
function listOf<const T extends readonly string[]>(values: T, defaultValue: readonly T[number][]) {
  return z
    .unknown()
    .transform((v, ctx): T[number][] => {
      if (Array.isArray(v) && v.every((x) => typeof x === 'string' && values.includes(x))) return v as T[number][];
      const bad = Array.isArray(v) ? v.find((x) => typeof x !== 'string' || !values.includes(x)) : v;
      ctx.addIssue({ code: 'custom', message: `expected a list of ${values.join(', ')}, got ${show(bad)}`, input: v });
      return z.NEVER;
    })
    .default(() => [...defaultValue]);
}

/** The rule's action: required, one of drop, mask, hash. */
const action = z.unknown().transform((v, ctx): RedactionAction => {
  if (typeof v === 'string' && (REDACTION_ACTIONS as readonly string[]).includes(v)) return v as RedactionAction;
  ctx.addIssue({ code: 'custom', message: `expected one of ${REDACTION_ACTIONS.join(', ')}, got ${show(v)}`, input: v });
  return z.NEVER;
});

/** Why RE2 refuses `pattern`, or null when it compiles. */
export function re2Problem(pattern: string): string | null {
  try {
    RE2JS.compile(pattern);
    return null;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return msg.replace(/^error parsing regexp: /, '');
  }
}

export const redactionRuleSchema = section({
  /** default "": a label for the rule in rubato_redaction_applied_total */
  name: str(''),
  /** default every scope: where attributes are looked at (resource, scope, span, event, link) */
  scopes: listOf(REDACTION_SCOPES, REDACTION_SCOPES),
  /** default []: attribute keys matched exactly */
  keys: strList([]),
  /** default "": RE2 pattern an attribute key must match whole */
  key_pattern: str(''),
  /** default []: value detectors (card_number, email, bearer_token, jwt, ipv4, ipv6) */
  detectors: listOf(REDACTION_DETECTORS, []),
  /** default "": RE2 pattern searched for in string values (each match is acted on) */
  value_pattern: str(''),
  /** default false: the rule rewrites span names instead of attributes */
  span_name: bool(false),
  /** required: drop (remove the attribute), mask (replace the match), hash (keyed HMAC-SHA256 of the match) */
  action,
  /** default "****": what mask puts in place of a match ("?" for SQL literals) */
  replacement: str('****'),
  /** default 0: mask keeps this many trailing characters of each match (4 for card numbers) */
  keep_last: int(0, 0, 64),
}).superRefine((rule, ctx) => {
  const selectsKey = rule.keys.length > 0 || rule.key_pattern !== '';
  const selectsValue = rule.detectors.length > 0 || rule.value_pattern !== '';
  if (!selectsKey && !selectsValue && !rule.span_name) {
    ctx.addIssue({ code: 'custom', message: 'a rule needs keys, key_pattern, detectors, value_pattern or span_name', path: ['action'], input: rule });
  }
  if (rule.span_name && selectsKey)
    ctx.addIssue({ code: 'custom', message: 'span_name rules match names, not keys: leave keys and key_pattern out', path: ['span_name'], input: rule });
  if (rule.span_name && rule.action === 'drop')
    ctx.addIssue({ code: 'custom', message: 'a span name cannot be dropped: use mask or hash', path: ['action'], input: rule });
  for (const key of ['key_pattern', 'value_pattern'] as const) {
    if (rule[key] === '') continue;
    const problem = re2Problem(rule[key]);
    if (problem !== null)
      ctx.addIssue({ code: 'custom', message: `invalid RE2 pattern ${JSON.stringify(rule[key])}: ${problem}`, path: [key], input: rule[key] });
  }
});

export type RedactionRule = z.output<typeof redactionRuleSchema>;

export const redactionSchema = section({
  /** default "": the HMAC key for hash rules (or hash_key_file, or hash_key_env) */
  hash_key: secret(''),
  /** default "": file holding the HMAC key (surrounding whitespace ignored) */
  hash_key_file: str(''),
  /** default "": environment variable holding the HMAC key */
  hash_key_env: str(''),
  /** default []: rules, applied in order; a tenant's rules run after those of overrides.defaults */
  rules: z.array(redactionRuleSchema).default(() => []),
});

export type RedactionConfig = z.output<typeof redactionSchema>;

/**
 * Checks that a redaction section with hash rules can find its key (config, file or environment), so
 * a missing key fails start-up naming `prefix` rather than the first push.
 */
export function checkRedactionKey(r: RedactionConfig, prefix: string, env: Readonly<Record<string, string | undefined>>): void {
  if (!r.rules.some((rule) => rule.action === 'hash')) return;
  if (r.hash_key !== '') return;
  if (r.hash_key_file !== '') {
    if (!existsSync(r.hash_key_file)) throw new ConfigError(`${prefix}.hash_key_file: file ${r.hash_key_file} not found`, `${prefix}.hash_key_file`);
    return;
  }
  if (r.hash_key_env !== '') {
    if ((env[r.hash_key_env] ?? '') === '')
      throw new ConfigError(`${prefix}.hash_key_env: environment variable ${r.hash_key_env} is not set`, `${prefix}.hash_key_env`);
    return;
  }
  throw new ConfigError(`${prefix}.hash_key: hash rules need a key: set hash_key, hash_key_file or hash_key_env`, `${prefix}.hash_key`);
}
