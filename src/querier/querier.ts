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
    const parts: Uint8Array[] = [];
    if (this.recent !== null) parts.push(...this.recent.findTrace(tenant, traceId));
    const readers = await this.blocks.readers(tenant, range.startMs, range.endMs);
    const found = await Promise.all(
      readers.map((r) => {
        blocksInspected.inc({ op: 'bloom' });
        if (!r.mayContain(traceId)) return null;
        blocksInspected.inc({ op: 'index' });
        return r.findTrace(traceId).catch(() => null);
      }),
    );
    for (const f of found) if (f !== null) parts.push(f);
    if (parts.length === 0) return null;
    return mergeTraces(parts);
  }
}
