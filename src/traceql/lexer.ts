import { SCOPED_INTRINSICS } from './intrinsics.js';
import type { AttributeScope, IntrinsicName } from './ast.js';
import { TraceQLParseError, positionAt } from './errors.js';

export type Token =
  | { readonly t: 'punct'; readonly v: '{' | '}' | '(' | ')' | ',' | '|'; readonly pos: number }
  | { readonly t: 'op'; readonly v: string; readonly pos: number }
  | { readonly t: 'string'; readonly v: string; readonly pos: number }
  | { readonly t: 'int'; readonly v: number; readonly pos: number }
  | { readonly t: 'float'; readonly v: number; readonly pos: number }
  | { readonly t: 'duration'; readonly v: number; readonly pos: number }
  | { readonly t: 'attr'; readonly scope: AttributeScope; readonly name: string; readonly parent: boolean; readonly pos: number }
  | { readonly t: 'intrinsic'; readonly name: IntrinsicName; readonly text: string; readonly pos: number }
  | { readonly t: 'ident'; readonly v: string; readonly pos: number }
  | { readonly t: 'eof'; readonly pos: number };

// Longest first, so `!>>` wins over `!>` and `!`.
const OPERATORS = [
  '&>>',
  '&<<',
  '!>>',
  '!<<',
  '&&',
  '||',
  '!=',
  '<=',
  '>=',
  '=~',
  '!~',
  '>>',
  '<<',
  '!>',
  '!<',
  '&>',
  '&<',
  '&~',
  '=',
  '<',
  '>',
  '~',
  '!',
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
];

const ATTRIBUTE_SCOPES: Record<string, AttributeScope> = {
  span: 'span',
  resource: 'resource',
  event: 'event',
  link: 'link',
  instrumentation: 'instrumentation',
};

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const INT64_MAX = 9223372036854775807n;

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}
function isIdentPart(c: string): boolean {
  return isIdentStart(c) || (c >= '0' && c <= '9');
}
function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}
function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
}
// Tempo ends an unquoted attribute name at whitespace or at a character that can only be syntax.
function isAttributeChar(c: string): boolean {
  return !isSpace(c) && !'{}()=~!<>&|^,"'.includes(c);
}

export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const fail = (msg: string, at: number): never => {
    throw new TraceQLParseError(msg, positionAt(text, at));
  };

  const readAttributeName = (start: number): { name: string; end: number } => {
    if (text[start] === '"') {
      let j = start + 1;
      let name = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\' && (text[j + 1] === '"' || text[j + 1] === '\\')) {
          name += text[j + 1];
          j += 2;
        } else {
          name += text[j];
          j++;
        }
      }
      if (j >= text.length) fail('unterminated quoted attribute name', start);
      if (name === '') fail('empty attribute name', start);
      return { name, end: j + 1 };
    }
    let j = start;
    while (j < text.length && isAttributeChar(text[j]!)) j++;
    if (j === start) fail('attribute name expected', start);
    return { name: text.slice(start, j), end: j };
  };

  while (i < text.length) {
    const c = text[i]!;
    if (isSpace(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === '{' || c === '}' || c === '(' || c === ')' || c === ',') {
      out.push({ t: 'punct', v: c, pos: i });
      i++;
      continue;
    }
    if (c === '|' && text[i + 1] !== '|') {
      out.push({ t: 'punct', v: '|', pos: i });
      i++;
      continue;
    }
    if (c === '"' || c === '`') {
      const r = readString(text, i, fail);
      out.push({ t: 'string', v: r.value, pos: start });
      i = r.end;
      continue;
    }
    if (isDigit(c)) {
      const r = readNumber(text, i, fail);
      out.push({ ...r.token, pos: start } as Token);
      i = r.end;
      continue;
    }
    if (c === '.') {
      const r = readAttributeName(i + 1);
      out.push({ t: 'attr', scope: 'none', name: r.name, parent: false, pos: start });
      i = r.end;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i;
      while (j < text.length && isIdentPart(text[j]!)) j++;
      const word = text.slice(i, j);
      if (text[j] === '.' && (word in ATTRIBUTE_SCOPES || word === 'parent')) {
        let parent = false;
        let scope: AttributeScope = 'none';
        let k = j + 1;
        if (word === 'parent') {
          parent = true;
          // parent.span.x / parent.resource.x
          for (const s of ['span', 'resource'] as const) {
            if (text.startsWith(s + '.', k)) {
              scope = s;
              k += s.length + 1;
              break;
            }
          }
        } else {
          scope = ATTRIBUTE_SCOPES[word]!;
        }
        const r = readAttributeName(k);
        out.push({ t: 'attr', scope, name: r.name, parent, pos: start });
        i = r.end;
        continue;
      }
      if (text[j] === ':' && word in SCOPED_INTRINSICS) {
        let k = j + 1;
        while (k < text.length && isIdentPart(text[k]!)) k++;
        const iname = text.slice(j + 1, k);
        const intrinsic = SCOPED_INTRINSICS[word]![iname];
        if (intrinsic === undefined) fail(`unknown intrinsic ${word}:${iname}`, start);
        out.push({ t: 'intrinsic', name: intrinsic!, text: text.slice(i, k), pos: start });
        i = k;
        continue;
      }
      out.push({ t: 'ident', v: word, pos: start });
      i = j;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (op === undefined) fail(`unexpected character ${JSON.stringify(c)}`, i);
    out.push({ t: 'op', v: op!, pos: start });
    i += op!.length;
  }
  out.push({ t: 'eof', pos: text.length });
  return out;
}

function readString(text: string, start: number, fail: (msg: string, at: number) => never): { value: string; end: number } {
  const quote = text[start]!;
  let j = start + 1;
  if (quote === '`') {
    const close = text.indexOf('`', j);
    if (close < 0) fail('unterminated string', start);
    return { value: text.slice(j, close), end: close + 1 };
  }
  let value = '';
  while (j < text.length && text[j] !== '"') {
    const ch = text[j]!;
    if (ch !== '\\') {
      value += ch;
      j++;
      continue;
    }
    const e = text[j + 1];
    j += 2;
    switch (e) {
      case '"':
        value += '"';
        break;
      case '\\':
        value += '\\';
        break;
      case "'":
        value += "'";
        break;
      case 'n':
        value += '\n';
        break;
      case 't':
        value += '\t';
        break;
      case 'r':
        value += '\r';
        break;
      case 'a':
        value += '\x07';
        break;
      case 'b':
        value += '\b';
        break;
      case 'f':
        value += '\f';
        break;
      case 'v':
        value += '\v';
        break;
      case 'x':
      case 'u':
      case 'U': {
        const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = text.slice(j, j + n);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) fail('invalid escape in string', j - 2);
        value += String.fromCodePoint(parseInt(hex, 16));
        j += n;
        break;
      }
      default:
        fail(`invalid escape \\${e ?? ''} in string`, j - 2);
    }
  }
  if (j >= text.length) fail('unterminated string', start);
  return { value, end: j + 1 };
}

type NumberToken = { t: 'int' | 'float' | 'duration'; v: number };

function readNumber(text: string, start: number, fail: (msg: string, at: number) => never): { token: NumberToken; end: number } {
  const numRe = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/;
  const m = numRe.exec(text.slice(start))!;
  let j = start + m[0].length;
  const isFloat = m[1] !== undefined || m[2] !== undefined;
  // A unit right after the number makes a duration: 1.5s, 100ms, 1h30m.
  if (j < text.length && /[a-zµ]/.test(text[j]!)) {
    let total = 0;
    let k = start;
    const durRe = /^([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/;
    for (;;) {
      const d = durRe.exec(text.slice(k));
      if (d === null) break;
      total += parseFloat(d[1]!) * DURATION_UNITS[d[2]!]!;
      k += d[0].length;
    }
    if (k === start || (k < text.length && isIdentPart(text[k]!))) fail('invalid duration', start);
    return { token: { t: 'duration', v: Math.round(total) }, end: k };
  }
  if (isFloat) return { token: { t: 'float', v: parseFloat(m[0]) }, end: j };
  if (BigInt(m[0]) > INT64_MAX) fail(`integer ${m[0]} out of range`, start);
  j = start + m[0].length;
  return { token: { t: 'int', v: Number(m[0]) }, end: j };
}
