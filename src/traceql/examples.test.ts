// Runs Tempo's own list of valid and invalid TraceQL queries (shared/reference, outside the project)
// through parse() and validate(). Skipped when the file is not there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { parse } from './parser.js';
import { validate } from './validate.js';
import { TraceQLParseError, TraceQLUnsupportedError, TraceQLValidationError } from './errors.js';

const examplesPath =
  process.env['TEMPO_TRACEQL_EXAMPLES'] ?? fileURLToPath(new URL('../../../../shared/reference/tempo-traceql-test-examples.yaml', import.meta.url));

type Outcome = 'ok' | 'parse' | 'validate' | 'unsupported' | 'other';

function outcome(q: string): { kind: Outcome; message: string } {
  try {
    const root = parse(q);
    try {
      validate(root);
      return { kind: 'ok', message: '' };
    } catch (e) {
      if (e instanceof TraceQLUnsupportedError) return { kind: 'unsupported', message: e.message };
      if (e instanceof TraceQLValidationError) return { kind: 'validate', message: e.message };
      return { kind: 'other', message: String(e) };
    }
  } catch (e) {
    if (e instanceof TraceQLParseError) return { kind: 'parse', message: e.message };
    return { kind: 'other', message: String(e) };
  }
}

const present = existsSync(examplesPath);
const doc = present ? (parseYaml(readFileSync(examplesPath, 'utf8')) as Record<string, string[] | null>) : {};

function check(key: string, expected: Outcome): void {
  test(`tempo examples: ${key}`, { skip: present ? false : `${examplesPath} not found` }, () => {
    const queries = doc[key] ?? [];
    const wrong: string[] = [];
    for (const q of queries) {
      const o = outcome(q);
      if (o.kind !== expected) wrong.push(`${JSON.stringify(q)} -> ${o.kind}${o.message ? `: ${o.message}` : ''}`);
    }
    assert.equal(wrong.length, 0, `${wrong.length}/${queries.length} ${key} queries misjudged (expected ${expected}):\n${wrong.join('\n')}`);
  });
}

check('valid', 'ok');
check('parse_fails', 'parse');
check('validate_fails', 'validate');
check('unsupported', 'unsupported');
