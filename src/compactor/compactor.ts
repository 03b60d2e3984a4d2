import type { Backend } from '../backend/backend.js';
import type { BlockMeta } from '../block/meta.js';
import { deleteBlock, listBlocks, listIncompleteBlocks, listTenants } from '../block/listing.js';
import { openBlock } from '../block/encoding.js';
import type { TraceRecord } from '../model/trace-record.js';
import { removeStaleWorkDirs, writeBlock } from '../block/writer.js';
import { mergeTraces } from '../otlp/trace-encode.js';
import { mergeSortedTraces } from './merge.js';
import * as metrics from './metrics.js';

export interface CompactorLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface CompactionOptions {
  /** Only this tenant; default every tenant in the backend. */
  tenant?: string;
  /** Blocks whose endTime is older than now − retentionMs are deleted. */
  retentionMs: number;
  /** Blocks whose endTime falls in the same window of this length are merged. */
  compactionWindowMs: number;
  /** At most this many blocks go into one merge; default 8. */
  maxInputBlocks?: number;
  /** Current time in ms; default Date.now(). */
  now?: number;
  /** Incomplete block folders older than this (as seen by this compactor) are removed; default 1h. */
  incompleteBlockTimeoutMs?: number;
  /** Row group size for written blocks (see writeBlock). */
  rowGroupRows?: number;
  logger?: CompactorLogger;
}

export interface CompactionResult {
  /** Blocks deleted by retention (compacted inputs are not counted here). */
  blocksDeleted: number;
  /** Input blocks merged away. */
  blocksCompacted: number;
  /** Blocks written by merges. */
  blocksWritten: number;
  /** Incomplete block folders removed. */
  incompleteDeleted: number;
}

const DEFAULT_MAX_INPUT_BLOCKS = 8;
const INCOMPLETE_TIMEOUT_MS = 60 * 60 * 1000;

/**
 * When this process first saw an incomplete block folder. The backend has no modification times, so
 * "older than an hour" means "incomplete for an hour of this compactor's watching": a block being
 * written right now gets its meta.json long before that.
 */
const firstSeenIncomplete = new Map<string, number>();

/** One compaction pass: retention, then merges per tenant and time window, then incomplete cleanup. */
export async function runCompaction(backend: Backend, opts: CompactionOptions): Promise<CompactionResult> {
  const now = opts.now ?? Date.now();
  const result: CompactionResult = { blocksDeleted: 0, blocksCompacted: 0, blocksWritten: 0, incompleteDeleted: 0 };
  const tenants = opts.tenant !== undefined ? [opts.tenant] : await listTenants(backend);
  for (const tenant of tenants) {
    const blocks = await listBlocks(backend, tenant);
    const cutoff = now - opts.retentionMs;
    const live: BlockMeta[] = [];
    for (const b of blocks) {
      if (Date.parse(b.endTime) < cutoff) {
        await deleteBlock(backend, tenant, b.blockID);
        result.blocksDeleted++;
        opts.logger?.info({ tenant, blockID: b.blockID, endTime: b.endTime }, 'block deleted by retention');
      } else live.push(b);
    }

    for (const group of compactionGroups(live, opts.compactionWindowMs, opts.maxInputBlocks ?? DEFAULT_MAX_INPUT_BLOCKS)) {
      const out = await compactGroup(backend, tenant, group, opts.rowGroupRows);
      result.blocksCompacted += group.length;
      result.blocksWritten += 1;
      opts.logger?.info(
        { tenant, inputs: group.map((b) => b.blockID), output: out.blockID, traces: out.totalObjects, spans: out.totalSpans },
        'blocks compacted',
      );
    }

    result.incompleteDeleted += await cleanIncomplete(backend, tenant, now, opts);
    // Work folders of block writes that crashed midway.
    result.incompleteDeleted += await removeStaleWorkDirs(backend, tenant, opts.incompleteBlockTimeoutMs ?? INCOMPLETE_TIMEOUT_MS, now);
  }
  return result;
}

/** Groups blocks by endTime truncated to the window; only groups with two or more blocks are merged. */
export function compactionGroups(blocks: readonly BlockMeta[], windowMs: number, maxInputs: number): BlockMeta[][] {
  const byWindow = new Map<number, BlockMeta[]>();
  for (const b of blocks) {
    const w = Math.floor(Date.parse(b.endTime) / windowMs);
    const g = byWindow.get(w);
    if (g) g.push(b);
    else byWindow.set(w, [b]);
  }
  const groups: BlockMeta[][] = [];
  for (const w of [...byWindow.keys()].sort((a, b) => a - b)) {
    // Smallest blocks first so a window's many small flushes are merged before its big ones.
    const g = byWindow.get(w)!.sort((a, b) => a.size - b.size);
    for (let i = 0; i + 1 < g.length; i += maxInputs) {
      const part = g.slice(i, i + maxInputs);
      if (part.length >= 2) groups.push(part);
    }
  }
  return groups;
}

async function compactGroup(backend: Backend, tenant: string, group: BlockMeta[], rowGroupRows?: number): Promise<BlockMeta> {
  const readers = await Promise.all(group.map((m) => openBlock(backend, m)));
  try {
    const merged = mergeSortedTraces(readers.map((r) => r.traces()), combine);
    const level = Math.max(...group.map((b) => b.compactionLevel)) + 1;
    const meta = await writeBlock(backend, tenant, merged, {
      compactionLevel: level,
      ...(rowGroupRows !== undefined ? { rowGroupRows } : {}),
    });
    // The new block is committed (its meta.json written) before any input goes: a crash in between
    // leaves duplicates, which readers tolerate, never a loss.
    for (const b of group) await deleteBlock(backend, tenant, b.blockID);
    return meta;
  } finally {
    await Promise.all(readers.map((r) => r.close()));
  }
}

function combine(records: TraceRecord[]): TraceRecord {
  if (records.length === 1) return records[0]!;
  return { traceId: records[0]!.traceId, trace: mergeTraces(records.map((r) => r.trace)) };
}

async function cleanIncomplete(backend: Backend, tenant: string, now: number, opts: CompactionOptions): Promise<number> {
  const timeout = opts.incompleteBlockTimeoutMs ?? INCOMPLETE_TIMEOUT_MS;
  const incomplete = new Set(await listIncompleteBlocks(backend, tenant));
  let deleted = 0;
  for (const key of firstSeenIncomplete.keys()) {
    if (key.startsWith(`${tenant}/`) && !incomplete.has(key.slice(tenant.length + 1))) firstSeenIncomplete.delete(key);
  }
  for (const id of incomplete) {
    const key = `${tenant}/${id}`;
    const seen = firstSeenIncomplete.get(key);
    if (seen === undefined) {
      firstSeenIncomplete.set(key, now);
      if (timeout > 0) continue;
    } else if (now - seen < timeout) continue;
    await backend.delete(key);
    firstSeenIncomplete.delete(key);
    deleted++;
    opts.logger?.warn({ tenant, blockID: id }, 'incomplete block folder removed');
  }
  return deleted;
}

export interface CompactorHandle {
  /** Stops the loop and waits for a running pass to finish. */
  stop(): Promise<void>;
}

/** Runs runCompaction every `intervalMs` (default 5 min), never two passes at once. */
export function startCompactor(
  backend: Backend,
  opts: Omit<CompactionOptions, 'now'> & {
    intervalMs?: number;
    /** Called after each pass that changed the block list, so readers can refresh theirs. */
    onChange?: (result: CompactionResult) => void;
  },
): CompactorHandle {
  const interval = opts.intervalMs ?? 5 * 60 * 1000;
  let stopped = false;
  let running: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;

  const pass = (): void => {
    if (stopped) return;
    const timer = metrics.compactionDuration.startTimer();
    running = runCompaction(backend, opts)
      .then(
        (result) => {
          metrics.compactedBlocks.inc(result.blocksCompacted);
          metrics.writtenBlocks.inc(result.blocksWritten);
          metrics.retentionDeleted.inc(result.blocksDeleted);
          if (result.blocksDeleted + result.blocksCompacted + result.blocksWritten > 0) opts.onChange?.(result);
        },
        (err: unknown) => {
          metrics.compactionErrors.inc();
          opts.logger?.warn({ err: String(err) }, 'compaction pass failed');
        },
      )
      .finally(() => timer())
      .finally(() => {
        running = null;
        if (!stopped) schedule();
      });
  };
  // unref: a pending pass must not keep the process alive on shutdown.
  const schedule = (): void => {
    timer = setTimeout(pass, interval);
    timer.unref();
  };
  schedule();

  return {
    async stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      if (running !== null) await running;
    },
  };
}
