/**
 * Built-in value detectors for redaction: card numbers (Luhn-checked), e-mail addresses, bearer
 * tokens, JWTs, IPv4 and IPv6 addresses. They run on every string attribute a rule covers, so each
 * has a byte-level prefilter (`valueHints`) that rules most values out without decoding them, and
 * each scan is linear in the value's length whatever the input (no backtracking blow-up on hostile
 * values): hand-written scanners, or our own regexes with bounded repetition only.
 */
import { isIPv6 } from 'node:net';
import type { RedactionDetector } from '../config/redaction.js';

/** Hint bits: what a value's bytes could hold. */
export const HINT_AT = 1;
export const HINT_DIGITS13 = 2;
export const HINT_DOTTED = 4;
export const HINT_COLONS = 8;
export const HINT_EYJ = 16;
export const HINT_BEARER = 32;
/** Anything (custom patterns cannot be prefiltered). */
export const HINT_ANY = 1 << 30;

// Byte classes for the prefilter: most bytes of a value (letters) are class 0 and cost one load.
const C_DIGIT = 1;
const C_DOT = 2;
const C_COLON = 3;
const C_AT = 4;
const C_J = 5;
const C_SPACE = 6;
const CLASS = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) CLASS[c] = C_DIGIT;
CLASS[0x2e] = C_DOT;
CLASS[0x3a] = C_COLON;
CLASS[0x40] = C_AT;
CLASS[0x4a] = C_J;
CLASS[0x20] = C_SPACE;
CLASS[0x09] = C_SPACE;

/** True when the 6 bytes before `i` spell "bearer" in any case. */
function bearerBefore(buf: Uint8Array, i: number): boolean {
  return (
    (buf[i - 6]! | 0x20) === 0x62 &&
    (buf[i - 5]! | 0x20) === 0x65 &&
    (buf[i - 4]! | 0x20) === 0x61 &&
    (buf[i - 3]! | 0x20) === 0x72 &&
    (buf[i - 2]! | 0x20) === 0x65 &&
    (buf[i - 1]! | 0x20) === 0x72
  );
}

/** One pass over a string value's UTF-8 bytes: which detectors could match (HINT_ANY always set). */
export function valueHints(buf: Uint8Array, start: number, end: number): number {
  let digits = 0;
  let dots = 0;
  let colons = 0;
  let hints = HINT_ANY;
  for (let i = start; i < end; i++) {
    const k = CLASS[buf[i]!]!;
    if (k === 0) continue;
    switch (k) {
      case C_DIGIT:
        digits++;
        break;
      case C_DOT:
        dots++;
        break;
      case C_COLON:
        colons++;
        break;
      case C_AT:
        hints |= HINT_AT;
        break;
      case C_J:
        if (i - start >= 2 && buf[i - 1] === 0x79 && buf[i - 2] === 0x65) hints |= HINT_EYJ;
        break;
      default:
        if (i - start >= 6 && bearerBefore(buf, i)) hints |= HINT_BEARER;
    }
  }
  if (digits >= 13) hints |= HINT_DIGITS13;
  if (dots >= 3 && digits >= 4) hints |= HINT_DOTTED;
  if (colons >= 2) hints |= HINT_COLONS;
  return hints;
}

/** Half-open ranges [start, end) in a string, in order, not overlapping; pushed in pairs. */
export type Ranges = number[];

export interface Detector {
  /** Hint bits of which at least one must be set for `find` to be worth running. */
  readonly hint: number;
  /** Appends the ranges of `s` it recognises. */
  find(s: string, out: Ranges): void;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function luhn(digits: readonly number[]): boolean {
  let sum = 0;
  for (let i = digits.length - 1, k = 0; i >= 0; i--, k++) {
    let d = digits[i]!;
    if (k % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** 13 to 19 digits, optionally grouped by single spaces or dashes, passing the Luhn check. */
function findCards(s: string, out: Ranges): void {
  const n = s.length;
  let i = 0;
  const digits: number[] = [];
  while (i < n) {
    if (!isDigit(s.charCodeAt(i)) || (i > 0 && isDigit(s.charCodeAt(i - 1)))) {
      i++;
      continue;
    }
    const start = i;
    digits.length = 0;
    let end = i;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (isDigit(c)) {
        digits.push(c - 48);
        i++;
        end = i;
      } else if ((c === 32 || c === 45) && i + 1 < n && isDigit(s.charCodeAt(i + 1)) && isDigit(s.charCodeAt(i - 1))) {
        i++;
      } else break;
    }
    if (digits.length >= 13 && digits.length <= 19 && luhn(digits)) out.push(start, end);
  }
}

function isLocalChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || isDigit(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
}

function isDomainChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || isDigit(c) || c === 46 || c === 45;
}

/** local@domain.tld, found around each '@' (so the cost is bounded per '@'). */
function findEmails(s: string, out: Ranges): void {
  let from = 0;
  let lastEnd = 0;
  for (;;) {
    const at = s.indexOf('@', from);
    if (at < 0) return;
    from = at + 1;
    let a = at;
    while (a > lastEnd && at - a < 64 && isLocalChar(s.charCodeAt(a - 1))) a--;
    let b = at + 1;
    while (b < s.length && b - at < 255 && isDomainChar(s.charCodeAt(b))) b++;
    while (b > at + 1 && (s.charCodeAt(b - 1) === 46 || s.charCodeAt(b - 1) === 45)) b--;
    if (a === at) continue;
    const domain = s.slice(at + 1, b);
    const dot = domain.lastIndexOf('.');
    if (dot <= 0 || domain.length - dot - 1 < 2 || !/^[A-Za-z]+$/.test(domain.slice(dot + 1))) continue;
    out.push(a, b);
    lastEnd = b;
    from = b;
  }
}

function isB64Url(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || isDigit(c) || c === 45 || c === 95;
}

/** header.payload.signature, the header starting `eyJ` (base64 of `{"`). One pass: a failed try resumes where it stopped. */
function findJwts(s: string, out: Ranges): void {
  let from = 0;
  for (;;) {
    const start = s.indexOf('eyJ', from);
    if (start < 0) return;
    let i = start;
    let parts = 0;
    let partLen = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (isB64Url(c)) partLen++;
      else if (c === 46 && partLen >= 2 && parts < 2) {
        parts++;
        partLen = 0;
      } else break;
    }
    if (parts === 2) out.push(start, i);
    from = Math.max(i, start + 3);
  }
}

// Bounded repetition only, and `Bearer` anchors every try: linear.
const BEARER = /\bbearer[ \t]+[A-Za-z0-9\-._~+/]+=*/gi;
const IPV4 = /(?<![0-9.])(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?![0-9]|\.[0-9])/g;
// A run of hex digits, colons and dots; node:net decides whether it is an address.
const IPV6_CANDIDATE = /(?<![0-9A-Fa-f:.])[0-9A-Fa-f:.]{2,45}/g;

function findAll(re: RegExp, s: string, out: Ranges): void {
  re.lastIndex = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    out.push(m.index, m.index + m[0].length);
    if (m[0].length === 0) re.lastIndex++;
  }
}

function findIpv6(s: string, out: Ranges): void {
  IPV6_CANDIDATE.lastIndex = 0;
  for (let m = IPV6_CANDIDATE.exec(s); m !== null; m = IPV6_CANDIDATE.exec(s)) {
    const text = m[0];
    let colons = 0;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 58) colons++;
    if (colons >= 2 && isIPv6(text)) out.push(m.index, m.index + text.length);
  }
}

export const DETECTORS: Readonly<Record<RedactionDetector, Detector>> = {
  card_number: { hint: HINT_DIGITS13, find: findCards },
  email: { hint: HINT_AT, find: findEmails },
  bearer_token: { hint: HINT_BEARER, find: (s, out) => findAll(BEARER, s, out) },
  jwt: { hint: HINT_EYJ, find: findJwts },
  ipv4: { hint: HINT_DOTTED, find: (s, out) => findAll(IPV4, s, out) },
  ipv6: { hint: HINT_COLONS, find: findIpv6 },
};

/** Sorts pairs by start and merges overlaps, in place. */
export function normalizeRanges(r: Ranges): Ranges {
  if (r.length <= 2) return r;
  const pairs: [number, number][] = [];
  for (let i = 0; i < r.length; i += 2) pairs.push([r[i]!, r[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0]);
  r.length = 0;
  for (const [a, b] of pairs) {
    const last = r.length - 1;
    if (last > 0 && a < r[last]!) r[last] = Math.max(r[last]!, b);
    else r.push(a, b);
  }
  return r;
}
