import { z } from 'zod';
import { acceptedUnused } from './fields.js';

// Walks raw YAML data alongside the schema, before zod sees it, to sort every key into typed,
// accepted-but-unused, or unknown. zod alone would silently strip the last two, and we owe the user
// a report naming each of them.

export interface KeySort {
  /** The data with unknown and unused keys removed, and YAML nulls made absent (so defaults apply). */
  cleaned: unknown;
  /** Dotted paths of keys no Tempo or rubato schema knows. */
  unknown: string[];
  /** Dotted paths of Tempo keys rubato accepts but does not use yet. */
  unused: string[];
}

/** Peels wrappers (default, optional, pipes) off a schema down to the object, record or leaf inside. */
export function unwrapSchema(schema: z.core.$ZodType): z.core.$ZodType {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodDefault || s instanceof z.ZodPrefault || s instanceof z.ZodOptional || s instanceof z.ZodNullable) {
      s = s.unwrap();
    } else if (s instanceof z.ZodPipe) {
      // A preprocess pipe starts with its transform; a .transform() pipe starts with the real input.
      s = s.in instanceof z.ZodTransform ? s.out : s.in;
    } else {
      return s;
    }
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Sorts the keys of `data` against `schema`; `prefix` is the dotted path `data` sits at. */
export function sortKeys(schema: z.core.$ZodType, data: unknown, prefix = ''): KeySort {
  const result: KeySort = { cleaned: undefined, unknown: [], unused: [] };
  result.cleaned = walk(schema, data, prefix, result);
  return result;
}

function join(prefix: string, key: string): string {
  return prefix === '' ? key : `${prefix}.${key}`;
}

function walk(schema: z.core.$ZodType, data: unknown, path: string, out: KeySort): unknown {
  const s = unwrapSchema(schema);
  if (s instanceof z.ZodObject) {
    // `section:` with nothing after it is YAML null; Tempo treats it as an empty section.
    if (data === null) return {};
    if (!isPlainObject(data)) return data; // zod reports the type error with this path
    const unused = new Set(acceptedUnused.get(s)?.keys ?? []);
    const shape = s.shape as Record<string, z.core.$ZodType>;
    const cleaned: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(data)) {
      const keyPath = join(path, key);
      const field = Object.hasOwn(shape, key) ? shape[key] : undefined;
      if (field !== undefined) {
        if (value === null && !(unwrapSchema(field) instanceof z.ZodObject)) continue;
        cleaned[key] = walk(field, value, keyPath, out);
      } else if (unused.has(key)) {
        out.unused.push(keyPath);
      } else {
        out.unknown.push(keyPath);
      }
    }
    return cleaned;
  }
  if (s instanceof z.ZodRecord) {
    if (data === null) return {};
    if (!isPlainObject(data)) return data;
    const cleaned: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(data)) cleaned[key] = walk(s.valueType, value, join(path, key), out);
    return cleaned;
  }
  // Lists of sections (metrics_generator.storage.remote_write): each entry is sorted like a section.
  if (s instanceof z.ZodArray && Array.isArray(data)) {
    return data.map((item, i) => walk(s.element, item, `${path}[${i}]`, out));
  }
  return data;
}
