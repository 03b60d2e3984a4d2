// Every config key is either used or warned about: the keys the schema types (rather than lists as
// accepted-but-unused, which start-up warns about) must each be read somewhere in the product code,
// or be listed in not-wired.ts (also warned about), and nothing listed there may be read.
// A key is "read" when its name appears as a property access (`.name`) in src/ outside config/, or its
// last two segments as a property chain: a heuristic, but one that fails when a key is added to the
// schema and nothing reads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { rubatoConfigSchema as configSchema } from './schema.js';
import { unwrapSchema } from './schema-walk.js';
import { TYPED_NOT_WIRED } from './not-wired.js';
import { loadConfig } from './load.js';

/** Dotted paths of the typed leaves (and records, which are read as a whole) of a schema. */
function typedKeys(schema: z.core.$ZodType, prefix: string, out: string[]): string[] {
  const s = unwrapSchema(schema);
  if (s instanceof z.ZodObject) {
    for (const [key, field] of Object.entries(s.shape as Record<string, z.core.$ZodType>)) typedKeys(field, prefix === '' ? key : `${prefix}.${key}`, out);
  } else if (prefix !== '') out.push(prefix);
  return out;
}

const DECLARING = new Set(['schema.ts', 'defaults.ts', 'fields.ts', 'not-wired.ts', 'legacy-overrides.ts', 'render.ts', 'schema-walk.ts']);

function sources(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    // The files that declare the keys do not count as reading them.
    else if (DECLARING.has(name)) continue;
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(readFileSync(p, 'utf8'));
  }
  return out;
}

test('every typed config key is read by the product code', () => {
  const root = resolve(import.meta.dirname, '..', '..', '..', 'src');
  const code = sources(root, []).join('\n');
  const read = (path: string): boolean => {
    const parts = path.split('.');
    const last = parts.at(-1)!;
    return code.includes(`.${parts.slice(-2).join('.')}`) || new RegExp(`[.?]${last}\\b|[{,]\\s*${last}\\s*[,}]`).test(code);
  };
  const keys = typedKeys(configSchema, '', []);
  const unread = keys.filter((path) => !read(path) && !TYPED_NOT_WIRED.includes(path));
  assert.deepEqual(unread, [], `typed but never read (wire them, or list them in not-wired.ts): ${unread.join(', ')}`);
  const wiredAfterAll = TYPED_NOT_WIRED.filter((path) => read(path) || !keys.includes(path));
  assert.deepEqual(wiredAfterAll, [], `listed in not-wired.ts but read (or not a typed key): ${wiredAfterAll.join(', ')}`);
});

test('setting a typed key rubato does not act on yet is named in the start-up warning', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rubato-notwired-'));
  try {
    const file = join(dir, 't.yaml');
    writeFileSync(file, 'ingester:\n  concurrent_flushes: 8\n');
    const { warnings } = loadConfig([`-config.file=${file}`], {});
    assert.ok(
      warnings.some((w) => w.includes('ingester.concurrent_flushes')),
      warnings.join('; '),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
