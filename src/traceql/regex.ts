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
// evaluation: a small cache of compiled patterns avoids the ~50 µs compile each time.
const CACHE_SIZE = 256;
const cache = new Map<string, CompiledRegex>();

/** Compiles a TraceQL regex; throws TraceQLValidationError with RE2's reason when it is not valid. */
export function compileRegex(pattern: string): CompiledRegex {
  const hit = cache.get(pattern);
  if (hit !== undefined) return hit;
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern, RE2JS.DOTALL);
  } catch (err) {
    throw new TraceQLValidationError(`invalid regular expression ${JSON.stringify(pattern)}: ${reason(err)}`);
  }
  const compiled: CompiledRegex = { source: pattern, test: (value) => re.matches(value) };
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(pattern, compiled);
  return compiled;
}

// re2js implements DOTALL by prefixing `(?s)`, which then shows in its messages; the user wrote neither.
function reason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/^error parsing regexp: /, '').replace('`(?s)', '`');
}
