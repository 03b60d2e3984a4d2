import { z } from 'zod';
import { parseDuration } from '../util/duration.js';
import { parseBytes } from '../util/bytes.js';

// Leaf and section builders for the config schema. Every leaf takes `unknown` and does its own
// checking so that error messages say what was expected in config words ("a duration like 10s"),
// not zod's type names, and so YAML nulls and Go-isms (yes/no booleans) are handled in one place.

/** Marks what a leaf holds, so renderConfig can print it back in Tempo's form. */
export type FieldKind = 'duration' | 'secret';
export const fieldKinds = z.registry<{ kind: FieldKind }>();

/** Sections list the Tempo keys they accept but rubato does not use yet (reported, then dropped). */
export const acceptedUnused = z.registry<{ keys: readonly string[] }>();

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

function fail(ctx: z.core.$RefinementCtx, expected: string, got: unknown): never {
  ctx.addIssue({ code: 'custom', message: `expected ${expected}, got ${show(got)}`, input: got });
  return z.NEVER;
}

/** A Go duration string ("10s", "1m30s", "72h"; bare 0 allowed), stored as milliseconds. */
export function duration(defaultMs: number) {
  const s = z
    .unknown()
    .transform((v, ctx): number => {
      if (v === 0) return 0;
      if (typeof v !== 'string') return fail(ctx, 'a duration like "10s", "1m30s" or "72h"', v);
      try {
        const ms = parseDuration(v);
        if (ms < 0) return fail(ctx, 'a non-negative duration', v);
        return ms;
      } catch {
        return fail(ctx, 'a duration like "10s", "1m30s" or "72h"', v);
      }
    })
    .default(defaultMs);
  fieldKinds.add(s, { kind: 'duration' });
  return s;
}

/** A size in bytes: a number or a string with a unit ("500MB", "64MiB"). */
export function bytes(defaultBytes: number) {
  return z
    .unknown()
    .transform((v, ctx): number => {
      if (typeof v !== 'number' && typeof v !== 'string') return fail(ctx, 'a size like 524288000 or "500MB"', v);
      try {
        return parseBytes(v);
      } catch {
        return fail(ctx, 'a size like 524288000 or "500MB"', v);
      }
    })
    .default(defaultBytes);
}

/** An integer within [min, max]. */
export function int(defaultValue: number, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return z
    .unknown()
    .transform((v, ctx): number => {
      if (typeof v !== 'number' || !Number.isInteger(v)) return fail(ctx, 'an integer', v);
      if (v < min || v > max) return fail(ctx, `an integer from ${min} to ${max}`, v);
      return v;
    })
    .default(defaultValue);
}

/** A number within [min, max] (fractions allowed). */
export function num(defaultValue: number, min = 0, max = Number.MAX_VALUE) {
  return z
    .unknown()
    .transform((v, ctx): number => {
      if (typeof v !== 'number' || !Number.isFinite(v)) return fail(ctx, 'a number', v);
      if (v < min || v > max) return fail(ctx, `a number from ${min} to ${max}`, v);
      return v;
    })
    .default(defaultValue);
}

const TRUE_WORDS = new Set(['true', 'yes', 'y', 'on']);
const FALSE_WORDS = new Set(['false', 'no', 'n', 'off']);

/** A boolean; also the YAML 1.1 words (yes/no/on/off) that Tempo's Go YAML parser reads as booleans. */
export function bool(defaultValue: boolean) {
  return z
    .unknown()
    .transform((v, ctx): boolean => {
      if (typeof v === 'boolean') return v;
      if (typeof v === 'string') {
        const w = v.toLowerCase();
        if (TRUE_WORDS.has(w)) return true;
        if (FALSE_WORDS.has(w)) return false;
      }
      return fail(ctx, 'true or false', v);
    })
    .default(defaultValue);
}

/** A string; plain numbers are taken as their text, as Go's YAML decoder does for string fields. */
export function str(defaultValue: string) {
  return z
    .unknown()
    .transform((v, ctx): string => {
      if (typeof v === 'string') return v;
      if (typeof v === 'number') return String(v);
      return fail(ctx, 'a string', v);
    })
    .default(defaultValue);
}

/** A string that must not be shown back (passwords, keys). */
export function secret(defaultValue: string) {
  const s = str(defaultValue);
  fieldKinds.add(s, { kind: 'secret' });
  return s;
}

/** One of a fixed set of strings. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T, defaultValue: T[number]) {
  return z.enum(values, { error: (issue) => `expected one of ${values.join(', ')}, got ${show(issue.input)}` }).default(defaultValue);
}

/** A list of strings. */
export function strList(defaultValue: readonly string[]) {
  return z
    .unknown()
    .transform((v, ctx): string[] => {
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
      return fail(ctx, 'a list of strings', v);
    })
    .default(() => [...defaultValue]);
}

/** A mapping of known keys; `unused` names the Tempo keys accepted here but not used by rubato. */
export function section<T extends z.core.$ZodLooseShape>(shape: T, unused: readonly string[] = []) {
  const s = z.object(shape);
  acceptedUnused.add(s, { keys: unused });
  return s;
}
