import type { Backend } from '../backend/backend.js';
import type { Block } from './block.js';
import type { BlockMeta } from './meta.js';
import { ParquetBlock } from './parquet-block.js';

/**
 * Opens a stored block with the encoding its meta.json names. Another block format (Tempo's
 * vParquet4, say) is one more entry here and a module beside parquet-block.ts.
 */

/** A readable stored block: the Block seam plus what the backend's owners need. */
export interface StoredBlock extends Block {
  readonly meta: BlockMeta;
  /** Damage found at open that the block works around (a bad bloom or index), for the log. */
  readonly problems: readonly string[];
  /** Releases local copies and caches. */
  close(): Promise<void>;
}

const ENCODINGS: Readonly<Record<string, (backend: Backend, meta: BlockMeta) => Promise<StoredBlock>>> = {
  // Format 1 lacks the event, link and scope attribute columns: the block reads (and narrows) by
  // the columns its version has (formatVersion in meta.ts).
  'rubato-parquet1': (backend, meta) => ParquetBlock.open(backend, meta),
  'rubato-parquet2': (backend, meta) => ParquetBlock.open(backend, meta),
};

/** Formats this build reads (meta.json's `format`). */
export const READABLE_FORMATS: readonly string[] = Object.keys(ENCODINGS);

export function openBlock(backend: Backend, meta: BlockMeta): Promise<StoredBlock> {
  const open = ENCODINGS[meta.format];
  if (open === undefined) return Promise.reject(new Error(`block ${meta.blockID}: unknown format ${JSON.stringify(meta.format)}`));
  return open(backend, meta);
}
