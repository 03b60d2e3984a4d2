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

  /**
   * The encoded tempopb.Trace, or null when no part of it is found. Blocks handle their own failures
   * (a damaged block is quarantined, one deleted underneath re-reads its list), so a lookup is one pass.
   */
  async findTraceById(tenant: string, traceId: string, range: TimeRange = {}, signal?: AbortSignal): Promise<Uint8Array | null> {
    const blocks = await blocksOf(this.sources, tenant, range);
    blocksInspected.inc(blocks.length);
    const found = await Promise.all(blocks.map((b) => b.findTrace(traceId, signal)));
    const parts = found.flat();
    return parts.length === 0 ? null : mergeTraces(parts);
  }
}
