/**
 * Findings already reported and waiting for a fix in src/ (fuzz/crashers/known.json). They are printed
 * as KNOWN on every run but do not fail it, so the CI fuzz run stays green until the fix lands; the fix
 * removes the entry (and moves the crasher from fuzz/crashers/ into fuzz/corpus/).
 */
import { readFileSync } from 'node:fs';
import type { Finding } from './supervise.js';

export interface KnownFinding {
  readonly target: string;
  readonly kind: Finding['kind'];
  /** Regular expression over the finding's "Name: message" (omitted: any message). */
  readonly message?: string;
  /** Regular expression over the input read as UTF-8 (omitted: any input). */
  readonly input?: string;
  /** What the bug is and where it is fixed. */
  readonly note: string;
}

export function readKnown(path: string): KnownFinding[] {
  return JSON.parse(readFileSync(path, 'utf8')) as KnownFinding[];
}

export function matchKnown(f: Finding, known: readonly KnownFinding[]): KnownFinding | undefined {
  return known.find(
    (k) =>
      k.target === f.target &&
      k.kind === f.kind &&
      (k.message === undefined || new RegExp(k.message).test(f.message)) &&
      (k.input === undefined || new RegExp(k.input).test(Buffer.from(f.input).toString('utf8'))),
  );
}
