/** What the supervisor and the fuzz worker tell each other, and the layout of their shared buffer. */

/** Int32 slots at the head of the shared buffer; the input bytes follow at offset 16. */
export const SLOT_SEQ = 0;
export const SLOT_LEN = 1;
export const SLOT_BUSY = 2;

export interface WorkerData {
  readonly target: string;
  readonly seconds: number;
  readonly seed: number;
  readonly maxLen: number | undefined;
  readonly seeds: Uint8Array[];
  readonly shared: SharedArrayBuffer;
  readonly replayOnly: boolean;
  /** End the run at the first finding. */
  readonly stopOnFinding: boolean;
  /** Count a block as covered or not, ignoring hit counts (for corpus merges). */
  readonly coarse: boolean;
  readonly slowMs: number;
  /** Signatures already reported (by an earlier worker of the same run): not sent again. */
  readonly knownSignatures: string[];
}

export type FindingKind = 'crash' | 'hang' | 'oom' | 'slow';

export type WorkerMessage =
  | { type: 'finding'; kind: FindingKind; signature: string; message: string; stack: string; input: Uint8Array }
  | { type: 'new'; input: Uint8Array }
  /** A seed input that showed coverage no earlier seed did (what a corpus merge keeps). */
  | { type: 'kept'; index: number }
  | { type: 'stats'; execs: number; corpus: number; features: number }
  | { type: 'done'; execs: number; corpus: number; features: number };

/**
 * One finding per distinct bug rather than per input: the error name, the head of its message with
 * numbers and quoted text blanked, and the first stack frame in the project's code.
 */
export function signatureOf(e: Error): string {
  // A stack overflow's top frame is wherever the recursion happened to run out: one bug, one signature.
  if (e instanceof RangeError && /call stack/.test(e.message)) return `${e.name}: ${e.message}`;
  // Up to the first ": " — what follows is usually the detail that varies (a name, an offset).
  const msg = (e.message.split(': ')[0] ?? '')
    .replace(/\d+/g, 'N')
    .replace(/(["'`]).*?\1/g, '$1…$1')
    .slice(0, 120);
  const frame = (e.stack ?? '').split('\n').find((l) => l.includes('/dist/src/')) ?? '';
  const where = frame
    .replace(/^\s*at\s+/, '')
    .replace(/\(?file:\/\/.*\/dist\//, '')
    .replace(/:\d+\)?$/, '');
  return `${e.name}: ${msg} @ ${where}`;
}
