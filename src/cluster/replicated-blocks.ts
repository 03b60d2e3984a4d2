/**
 * Stored blocks as a querier sees them in distributed mode with replication_factor > 1: every
 * ingester flushes its own copy of the traces it was given, so until the compactor merges them a span
 * sits in up to RF blocks of compaction level 0. Those blocks are marked spansAlsoElsewhere, which
 * makes TraceQL metrics count each span once (trace by ID already merges by span ID; search keeps
 * each trace once). Compacted blocks are taken as disjoint, as in one process.
 */
import type { Block, BlockSource } from '../block/block.js';
import type { Blocklist } from '../querier/blocklist.js';

export class ReplicatedBlocks implements BlockSource {
  constructor(private readonly blocklist: Blocklist) {}

  async blocks(tenant: string, range?: { startMs?: number; endMs?: number }): Promise<Block[]> {
    const blocks = await this.blocklist.blocks(tenant, range);
    const flushed = new Set(
      this.blocklist
        .metas(tenant)
        .filter((m) => m.compactionLevel === 0)
        .map((m) => m.blockID),
    );
    return blocks.map((b) => (flushed.has(b.info.id) ? alsoElsewhere(b) : b));
  }
}

function alsoElsewhere(b: Block): Block {
  const info = { ...b.info, spansAlsoElsewhere: true };
  return {
    info,
    findTrace: (id, signal) => b.findTrace(id, signal),
    search: (filter, opts) => b.search(filter, opts),
    tagNames: (scopes, q) => b.tagNames(scopes, q),
    tagValues: (tag, q) => b.tagValues(tag, q),
    traces: (signal) => b.traces(signal),
  };
}
