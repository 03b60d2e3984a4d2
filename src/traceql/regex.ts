/**
 * TraceQL regexes are Go RE2 syntax and match the whole value (Tempo anchors them like Prometheus).
 * Translate the common Go-only spellings to JavaScript: leading flag groups like `(?i)`, `(?P<name>`,
 * `\A` and `\z`.
 */
export function compileRegex(pattern: string): RegExp {
  let flags = '';
  let body = pattern;
  const m = /^\(\?([imsU]+)\)/.exec(body);
  if (m !== null) {
    for (const f of m[1]!) if ((f === 'i' || f === 'm' || f === 's') && !flags.includes(f)) flags += f;
    body = body.slice(m[0].length);
  }
  body = body.replace(/\(\?P</g, '(?<').replace(/\\A/g, '^').replace(/\\z/g, '$');
  return new RegExp(`^(?:${body})$`, flags);
}
