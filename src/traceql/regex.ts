import { RE2JS } from 're2js';
import { TraceQLValidationError } from './errors.js';

/**
 * TraceQL regexes: Go RE2 syntax, matched the way Tempo (Prometheus' FastRegexMatcher) does, against
 * the whole value with `.` matching newlines (`^(?s:pattern)$`). re2js is a linear-time RE2 port, so
 * no pattern can make matching backtrack; patterns RE2 refuses (lookaround, backreferences, possessive
 * repetition, …) are validation errors. Validation and evaluation both compile through here.
 */
export interface CompiledRegex {
  readonly source: string;
  /** True when the pattern matches the whole of `value`. */
  test(value: string): boolean;
}

// Queries repeat (dashboards poll), and one query compiles each pattern in validation and again in
// evaluation: a small cache of compiled patterns avoids the ~50 µs compile each time. Huge patterns
// are rare and would pin memory, so they are not kept.
const CACHE_SIZE = 256;
const CACHE_MAX_PATTERN = 4096;
const cache = new Map<string, CompiledRegex>();

/** Compiles a TraceQL regex; throws TraceQLValidationError with RE2's reason when it is not valid. */
export function compileRegex(pattern: string): CompiledRegex {
  const hit = cache.get(pattern);
  if (hit !== undefined) return hit;
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern, RE2JS.DOTALL);
  } catch (err) {
    const shown = pattern.length > 200 ? `${JSON.stringify(pattern.slice(0, 200))}…` : JSON.stringify(pattern);
    throw new TraceQLValidationError(`invalid regular expression ${shown}: ${reason(err)}`);
  }
  const compiled: CompiledRegex = { source: pattern, test: (value) => re.matches(value) };
  if (pattern.length <= CACHE_MAX_PATTERN) {
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(pattern, compiled);
  }
  return compiled;
}

// re2js implements DOTALL by prefixing `(?s)`, which then shows in its messages; the user wrote neither.
function reason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const why = msg.replace(/^error parsing regexp: /, '').replace('`(?s)', '`');
  // RE2 quotes the offending part, which for some errors is the whole (possibly huge) pattern.
  return why.length > 300 ? `${why.slice(0, 300)}…` : why;
}

/**
 * The pattern spelled so that any RE2 (C++ RE2 in DuckDB for blocks too) gives Tempo's answer with
 * plain full-match options: `.` matching newline made explicit with `(?s:…)`, named groups spelled
 * `(?P<name>` (C++ RE2 refuses Go 1.22's `(?<name>`), and a `\Q` quote left open closed so that the
 * wrapping parenthesis stays syntax. `pattern` must already have compiled (compileRegex).
 */
export function portablePattern(pattern: string): string {
  let out = '';
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      if (pattern[i + 1] === 'Q') {
        const end = pattern.indexOf('\\E', i + 2);
        if (end < 0) return `(?s:${out}${pattern.slice(i)}\\E)`;
        out += pattern.slice(i, end + 2);
        i = end + 2;
      } else {
        out += pattern.slice(i, i + 2);
        i += 2;
      }
    } else if (c === '[') {
      const end = classEnd(pattern, i);
      out += pattern.slice(i, end);
      i = end;
    } else if (c === '(' && pattern.startsWith('(?<', i) && pattern[i + 3] !== '=' && pattern[i + 3] !== '!') {
      out += '(?P<';
      i += 3;
    } else {
      out += c;
      i++;
    }
  }
  return `(?s:${out})`;
}

/** Index just past the character class that opens at `start` (Go syntax: `[]a]`, `[^]a]`, `[[:alpha:]]`). */
function classEnd(p: string, start: number): number {
  let j = start + 1;
  if (p[j] === '^') j++;
  if (p[j] === ']') j++;
  while (j < p.length && p[j] !== ']') {
    if (p[j] === '\\') {
      j += 2;
    } else if (p.startsWith('[:', j)) {
      const close = p.indexOf(':]', j + 2);
      j = close < 0 ? j + 1 : close + 2;
    } else {
      j++;
    }
  }
  return j + 1;
}
