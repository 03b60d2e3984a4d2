/** The contract between the fuzz engine and one fuzz target (fuzz/targets/*.ts). */

export interface FuzzTarget {
  /** Also the folder name under fuzz/corpus/ and fuzz/crashers/. */
  readonly name: string;
  /** Runs one input through the code under test. Throws only when something went wrong. */
  readonly fuzz: (data: Uint8Array) => void;
  /** True for the errors the code is meant to throw on bad input (they are not findings). */
  readonly expected: (err: unknown) => boolean;
  /** Tokens the mutator inserts (keywords, field tags, YAML keys). */
  readonly dictionary: readonly string[];
  /** Longest input the mutator makes (seeds may be longer). */
  readonly maxLen: number;
  /** Substrings of script URLs whose coverage guides the fuzzer. */
  readonly coverage: readonly string[];
  /** The input is protobuf: half of the mutations are structural (engine/proto-mutate.ts). */
  readonly protobuf?: boolean;
}

/** Thrown by a target when an invariant between two parts of the code does not hold. */
export class InvariantError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvariantError';
  }
}

/** Names of the targets, each a module fuzz/targets/<name>.js exporting `target`. */
export const TARGET_NAMES = ['otlp-proto', 'otlp-json', 'traceql', 'config'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];
