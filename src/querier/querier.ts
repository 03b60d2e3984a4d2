import { Counter } from 'prom-client';
import { blocksOf, type BlockSource } from '../block/block.js';
import { mergeTraces } from '../otlp/trace-encode.js';
import { registry } from '../metrics/registry.js';

const blocksInspected = new Counter({
  name: 'tempo_querier_blocks_inspected_total',
  help: 'Blocks a trace-by-ID lookup asked.',
  registers: [registry],
});

export interface TimeRange {
  /** Unix ms; blocks ending before it are skipped. */
  readonly startMs?: number;
  /** Unix ms; blocks starting after it are skipped. */
  readonly endMs?: number;
}

/**
 * Trace by ID: asks every block of every source (recent data, the backend) that overlaps the time
 * range, and merges what they find, dropping duplicate spans (a trace can sit in a head block and a
 * stored block, or in two blocks before compaction).
 */
export class Querier {
  constructor(private readonly sources: readonly BlockSource[]) {}

  /** The encoded tempopb.Trace, or null when no part of it is found. */
  async findTraceById(tenant: string, traceId: string, range: TimeRange = {}, signal?: AbortSignal): Promise<Uint8Array | null> {
    let found = await this.lookup(tenant, traceId, range, signal);
    if (found === 'stale') {
      // A block vanished under us (compacted or past retention): re-read the block lists, once.
      await Promise.all(this.sources.map((s) => s.refresh?.()));
      found = await this.lookup(tenant, traceId, range, signal);
      if (found === 'stale') throw new Error('block list changed during lookup; try again');
    }
    return found.length === 0 ? null : mergeTraces(found);
  }

  private async lookup(tenant: string, traceId: string, range: TimeRange, signal?: AbortSignal): Promise<Uint8Array[] | 'stale'> {
    const blocks = await blocksOf(this.sources, tenant, range);
    let stale = false;
    const found = await Promise.all(
      blocks.map((b) => {
        blocksInspected.inc();
        return b.findTrace(traceId, signal).catch((err: unknown) => {
          if (signal?.aborted === true) throw signal.reason;
          stale = true;
          return [];
        });
      }),
    );
    return stale ? 'stale' : found.flat();
  }
}
