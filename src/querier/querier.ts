import { Counter } from 'prom-client';
import { mergeTraces } from '../otlp/trace-encode.js';
import { registry } from '../metrics/registry.js';
import type { Blocklist } from './blocklist.js';

const blocksInspected = new Counter({
  name: 'tempo_querier_blocks_inspected_total',
  help: 'Blocks whose bloom filter or index a trace-by-ID lookup consulted.',
  labelNames: ['op'] as const,
  registers: [registry],
});

/** Recent data held by the ingester (live traces, head blocks): in-process in monolithic mode. */
export interface RecentTraces {
  findTrace(tenant: string, traceId: string): Uint8Array[];
}

export interface TimeRange {
  /** Unix ms; blocks ending before it are skipped. */
  readonly startMs?: number;
  /** Unix ms; blocks starting after it are skipped. */
  readonly endMs?: number;
}

/**
 * Trace by ID: asks recent data and every block that may hold the trace (time range, then bloom,
 * then index), and merges what it finds, dropping duplicate spans (a trace can sit in the WAL and a
 * block, or in two blocks before compaction).
 */
export class Querier {
  constructor(
    private readonly blocks: Blocklist,
    private readonly recent: RecentTraces | null,
  ) {}

  /** The encoded tempopb.Trace, or null when no part of it is found. */
  async findTraceById(tenant: string, traceId: string, range: TimeRange = {}): Promise<Uint8Array | null> {
    let found = await this.lookup(tenant, traceId, range);
    if (found === 'stale') {
      // A block vanished under us (compacted or past retention): re-read the block list, once.
      await this.blocks.poll();
      found = await this.lookup(tenant, traceId, range);
      if (found === 'stale') throw new Error('block list changed during lookup; try again');
    }
    return found.length === 0 ? null : mergeTraces(found);
  }

  private async lookup(tenant: string, traceId: string, range: TimeRange): Promise<Uint8Array[] | 'stale'> {
    const parts: Uint8Array[] = [];
    if (this.recent !== null) parts.push(...this.recent.findTrace(tenant, traceId));
    const readers = await this.blocks.readers(tenant, range.startMs, range.endMs);
    let stale = false;
    const found = await Promise.all(
      readers.map((r) => {
        blocksInspected.inc({ op: 'bloom' });
        if (!r.mayContain(traceId)) return null;
        blocksInspected.inc({ op: 'index' });
        return r.findTrace(traceId).catch(() => {
          stale = true;
          return null;
        });
      }),
    );
    if (stale) return 'stale';
    for (const f of found) if (f !== null) parts.push(f);
    return parts;
  }
}
