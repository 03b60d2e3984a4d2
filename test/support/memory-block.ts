/**
 * A Block over trace records held in memory, for tests of what sits above blocks (search, metrics,
 * the query frontend): every record is a candidate, as the ingester's head blocks hand them over.
 */
import type { AttributeTagScope, Block, BlockInfo, BlockSource, SearchOptions } from '../../src/block/block.js';
import type { TraceRecord } from '../../src/model/trace-record.js';

export class MemoryBlock implements Block {
  readonly info: BlockInfo;
  constructor(
    private readonly recs: TraceRecord[],
    info: Partial<BlockInfo> = {},
  ) {
    this.info = { id: 'memory', tenant: 't', startMs: 0, endMs: Number.MAX_SAFE_INTEGER, bytes: 0, ...info };
  }
  async findTrace(): Promise<Uint8Array[]> {
    return [];
  }
  async *search(_f: unknown, opts: SearchOptions): AsyncGenerator<TraceRecord[]> {
    for (let i = 0; i < this.recs.length; i += opts.batchSize()) yield this.recs.slice(i, i + opts.batchSize());
  }
  async tagNames(): Promise<Map<AttributeTagScope, Set<string>>> {
    return new Map();
  }
  async tagValues(): Promise<never[]> {
    return [];
  }
  async *traces(): AsyncGenerator<TraceRecord> {
    yield* this.recs;
  }
}

/** A BlockSource that always answers these blocks. */
export const sourceOf = (...blocks: Block[]): BlockSource => ({ blocks: async () => blocks });
