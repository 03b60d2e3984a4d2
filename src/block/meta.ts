/**
 * A block's meta.json, in the spirit of Tempo's. It is the block's commit record: written last, so a
 * folder without it is an incomplete block that readers skip and the compactor removes.
 */

import { CURRENT_FORMAT_VERSION } from './columns.js';

/** The format this build writes; older `rubato-parquetN` blocks stay readable (encoding.ts). */
export const BLOCK_FORMAT = `rubato-parquet${CURRENT_FORMAT_VERSION}`;

/**
 * The column-table version of a rubato format (columns.ts `since`): which columns its data.parquet
 * has. 1: span and resource attributes only; 2: event, link and instrumentation-scope attributes too.
 */
export function formatVersion(format: string): number | undefined {
  const m = /^rubato-parquet([1-9][0-9]*)$/.exec(format);
  if (m === null) return undefined;
  const v = Number(m[1]);
  return v <= CURRENT_FORMAT_VERSION ? v : undefined;
}

/** File names inside `<tenant>/<blockID>/`. */
export const BLOCK_FILES = {
  meta: 'meta.json',
  /**
   * Replaces meta.json once a block is compacted away or past retention: queries no longer list it,
   * but one already reading it finishes, until the compactor deletes it after
   * compacted_block_retention.
   */
  compactedMeta: 'meta.compacted.json',
  data: 'data.parquet',
  bloom: 'bloom',
  index: 'index',
  /** Attribute keys present in the block, per scope (`BlockAttributeKeys`): tag names without a scan. */
  keys: 'keys.json',
} as const;

/** The contents of a block's keys.json; event, link and instrumentation keys since format 2. */
export interface BlockAttributeKeys {
  readonly span: string[];
  readonly resource: string[];
  readonly event?: string[];
  readonly link?: string[];
  readonly instrumentation?: string[];
}

export interface BlockMeta {
  /** Encoding of the block's files (see encoding.ts); BLOCK_FORMAT for blocks this build writes. */
  readonly format: string;
  /** uuid v4 */
  readonly blockID: string;
  readonly tenantID: string;
  /** ISO 8601: earliest span start. */
  readonly startTime: string;
  /** ISO 8601: latest span end. */
  readonly endTime: string;
  /** Number of traces. */
  readonly totalObjects: number;
  readonly totalSpans: number;
  /** Bytes of data.parquet. */
  readonly size: number;
  readonly compactionLevel: number;
  /** Smallest and largest trace ID (32 hex). */
  readonly minID: string;
  readonly maxID: string;
  /** Number of Parquet row groups. */
  readonly totalRecords: number;
  readonly bloomBytes: number;
  readonly indexBytes: number;
  /** CRC-32 of the bloom and index files, so a damaged one is noticed and not trusted (absent in older blocks). */
  readonly bloomCrc32?: number;
  readonly indexCrc32?: number;
}

export function blockPath(tenant: string, blockID: string, file?: string): string {
  return file === undefined ? `${tenant}/${blockID}` : `${tenant}/${blockID}/${file}`;
}

/** Parses meta.json; returns null for anything that is not a block meta (encoding.ts decides whether it is readable). */
export function parseBlockMeta(buf: Uint8Array): BlockMeta | null {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(buf).toString('utf8'));
  } catch {
    return null;
  }
  return blockMetaOf(v);
}

/** The value as a block meta when it has a meta's identifying fields (a parsed meta.json, a tenant index entry). */
export function blockMetaOf(v: unknown): BlockMeta | null {
  if (typeof v !== 'object' || v === null) return null;
  const m = v as Record<string, unknown>;
  if (typeof m['format'] !== 'string' || typeof m['blockID'] !== 'string' || typeof m['tenantID'] !== 'string') return null;
  if (typeof m['startTime'] !== 'string' || typeof m['endTime'] !== 'string') return null;
  return v as BlockMeta;
}

export function serializeBlockMeta(meta: BlockMeta): Uint8Array {
  return Buffer.from(JSON.stringify(meta, null, 2));
}
