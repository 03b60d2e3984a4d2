import { ConfigError } from './errors.js';

// Tempo runs the raw config text through drone/envsubst when -config.expand-env=true, so we follow its
// rules: `${VAR}` (unset → empty string), `${VAR:-default}` / `${VAR:=default}` (unset or empty →
// default), `${VAR-default}` / `${VAR=default}` (unset → default), defaults may themselves hold `${…}`,
// `$$` is an escaped `$`, and a bare `$VAR` without braces is left as written.

export type Env = Readonly<Record<string, string | undefined>>;

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

/** Expands environment references in `text` the way Tempo's -config.expand-env does. */
export function expandEnv(text: string, env: Env): string {
  const [out] = expandUntil(text, 0, env, false);
  return out;
}

function expandUntil(s: string, start: number, env: Env, insideBraces: boolean): [string, number] {
  let out = '';
  let i = start;
  while (i < s.length) {
    const c = s[i];
    if (c === '$' && s[i + 1] === '$') {
      out += '$';
      i += 2;
    } else if (c === '$' && s[i + 1] === '{') {
      const [value, next] = expandReference(s, i, env);
      out += value;
      i = next;
    } else if (insideBraces && c === '}') {
      return [out, i];
    } else {
      out += c;
      i++;
    }
  }
  if (insideBraces) throw new ConfigError(`config.expand-env: missing closing "}" in ${describe(s, start)}`);
  return [out, i];
}

function expandReference(s: string, dollar: number, env: Env): [string, number] {
  NAME.lastIndex = dollar + 2;
  const m = NAME.exec(s);
  if (m === null) throw new ConfigError(`config.expand-env: bad variable reference at ${describe(s, dollar)}`);
  const name = m[0];
  let i = NAME.lastIndex;
  const value = env[name];
  if (s[i] === '}') return [value ?? '', i + 1];

  let op: string;
  if (s.startsWith(':-', i) || s.startsWith(':=', i)) op = s.slice(i, i + 2);
  else if (s[i] === '-' || s[i] === '=') op = s[i] as string;
  else throw new ConfigError(`config.expand-env: unsupported expression at ${describe(s, dollar)}`);
  i += op.length;

  const [fallback, close] = expandUntil(s, i, env, true);
  const useFallback = op.startsWith(':') ? value === undefined || value === '' : value === undefined;
  return [useFallback ? fallback : (value as string), close + 1];
}

function describe(s: string, at: number): string {
  const line = s.slice(0, at).split('\n').length;
  return `line ${line}: ${JSON.stringify(s.slice(at, at + 40))}`;
}
