import { parseDocument } from 'yaml';
import { ConfigError } from './errors.js';
import { isPlainObject } from './schema-walk.js';

/**
 * Parses a YAML config text into plain data; the top level must be a mapping (an empty file is an
 * empty mapping). `source` names the file in error messages. Merge keys (`<<:`) are honoured because
 * Tempo's Go YAML parser honours them.
 */
export function parseYamlMapping(text: string, source: string): Record<string, unknown> {
  const doc = parseDocument(text, { prettyErrors: true, merge: true, uniqueKeys: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    const pos = first.linePos?.[0];
    const where = pos !== undefined ? `line ${pos.line}, column ${pos.col}` : 'unknown position';
    // prettyErrors appends the position (and a source excerpt) to the message; we print our own.
    const reason = (first.message.split('\n')[0] ?? first.message).replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(`invalid YAML in ${source} at ${where}: ${reason}`);
  }
  let data: unknown;
  try {
    // Aliases and merge keys are resolved here: an unknown anchor, a merge of a list or an alias bomb
    // is the file's fault, not a crash.
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    throw new ConfigError(`invalid YAML in ${source}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (data === null || data === undefined) return {};
  if (!isPlainObject(data)) throw new ConfigError(`invalid config in ${source}: expected a mapping of keys at the top level`);
  return data;
}
