import type { z } from 'zod';
import { ConfigError } from './errors.js';

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/**
 * Turns zod issues into one ConfigError naming each dotted key and what was expected there.
 * `data` is what was validated (to quote the offending value); `prefix` is where it sits in the file.
 * The error's `key` is the first key at fault.
 */
export function issuesToConfigError(error: z.ZodError, data: unknown, prefix = '', source?: string): ConfigError {
  const problems: string[] = [];
  let firstKey: string | undefined;
  for (const issue of error.issues) {
    const key = [prefix, ...issue.path.map(String)].filter((k) => k !== '').join('.');
    firstKey ??= key;
    let detail: string;
    if (issue.code === 'invalid_type') {
      const expected = issue.expected === 'object' ? 'a mapping' : issue.expected;
      detail = `expected ${expected}, got ${show(valueAt(data, issue.path))}`;
    } else {
      detail = issue.message;
    }
    problems.push(`${key === '' ? '(top level)' : key}: ${detail}`);
  }
  const where = source !== undefined ? ` in ${source}` : '';
  return new ConfigError(`invalid config${where}: ${problems.join('; ')}`, firstKey);
}
