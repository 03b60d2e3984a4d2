import type { Backend } from '../backend/backend.js';
import type { BlockMeta } from '../block/meta.js';
import { deleteBlock, listBlocks, listCompactedBlocks, listIncompleteBlocks, listTenants, listUnreadableMetas, markCompacted } from '../block/listing.js';
import { openBlock, type StoredBlock } from '../block/encoding.js';
import { isBlockDamage } from '../block/damage.js';
import { BLOCK_FORMAT } from '../block/meta.js';
import type { TraceRecord } from '../model/trace-record.js';
import { removeStaleWorkDirs, writeBlock, type WriteBlockOptions } from '../block/writer.js';
import { mergeTraces } from '../otlp/trace-encode.js';
import { mergeSortedTraces } from './merge.js';
import * as metrics from './metrics.js';
import { buildTenantIndexes, notBuilder, type TenantIndexBuild, type TenantIndexBuilderOptions } from './tenant-index-builder.js';

export interface CompactorLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface CompactionOptions {
  /** Only this tenant; default every tenant in the backend. */
  tenant?: string;
  /** Blocks whose endTime is older than now − retentionMs are taken out (and deleted later). */
  retentionMs: number;
  /**
   * Blocks compacted away or past retention stay readable this long for queries already reading
   * them, then are deleted. Tempo's `compacted_block_retention`; default 1h.
   */
  compactedBlockRetentionMs?: number;
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
  /** Bloom filter false-positive rate of written blocks (Tempo's `bloom_filter_false_positive`). */
  bloomFalsePositive?: number;
  /**
   * A tenant's own settings (Tempo's per-tenant `compaction.block_retention`, 0 = the global one, and
   * `compaction.compaction_disabled`, which stops merges but not retention).
   */
  forTenant?: (tenant: string) => { readonly retentionMs: number; readonly compactionDisabled: boolean };
  logger?: CompactorLogger;
}

export interface CompactionResult {
  /** Blocks taken out by retention (compacted inputs are not counted here). */
  blocksDeleted: number;
  /** Input blocks merged away. */
  blocksCompacted: number;
  /** Blocks written by merges. */
  blocksWritten: number;
  /** Incomplete block folders removed. */
  incompleteDeleted: number;
  /** Compacted blocks deleted once past compacted_block_retention. */
  compactedDeleted: number;
  /** Blocks with an unreadable meta.json rebuilt from their data. */
  blocksRecovered: number;
  /** Blocks newly found damaged (left out of merges from now on; retention still removes them). */
  blocksDamaged: number;
  /** Tenants whose pass failed (logged); the others went ahead. */
  tenantsFailed: number;
}

const DEFAULT_MAX_INPUT_BLOCKS = 8;
const INCOMPLETE_TIMEOUT_MS = 60 * 60 * 1000;
const COMPACTED_RETENTION_MS = 60 * 60 * 1000;

/**
 * When this process first saw an incomplete block folder. The backend has no modification times, so
 * "older than an hour" means "incomplete for an hour of this compactor's watching": a block being
 * written right now gets its meta.json long before that.
 */
const firstSeenIncomplete = new Map<string, number>();
/** Blocks (`tenant/blockID`) found damaged: never merged again, and reported once. */
const damaged = new Map<string, string>();

/**
 * One compaction pass, tenant by tenant: retention, merges per time window, rebuilding blocks whose
 * meta.json is unreadable, deleting compacted blocks past their grace time and incomplete folders. A
 * tenant whose pass fails is logged and counted; the others still get theirs.
 */
export async function runCompaction(backend: Backend, opts: CompactionOptions): Promise<CompactionResult> {
  const now = opts.now ?? Date.now();
  const result: CompactionResult = {
    blocksDeleted: 0,
    blocksCompacted: 0,
    blocksWritten: 0,
    incompleteDeleted: 0,
    compactedDeleted: 0,
    blocksRecovered: 0,
    blocksDamaged: 0,
    tenantsFailed: 0,
  };
  const tenants = opts.tenant !== undefined ? [opts.tenant] : await listTenants(backend);
  for (const tenant of tenants) {
    try {
      await compactTenant(backend, tenant, now, opts, result);
    } catch (err) {
      result.tenantsFailed++;
      metrics.compactionErrors.inc();
      opts.logger?.error({ tenant, err }, 'compaction of a tenant failed; other tenants go ahead');
    }
  }
  return result;
}

async function compactTenant(backend: Backend, tenant: string, now: number, opts: CompactionOptions, result: CompactionResult): Promise<void> {
  const blocks = await listBlocks(backend, tenant);
  const own = opts.forTenant?.(tenant);
  const cutoff = now - (own !== undefined && own.retentionMs > 0 ? own.retentionMs : opts.retentionMs);
  const live: BlockMeta[] = [];
  for (const b of blocks) {
    if (Date.parse(b.endTime) < cutoff) {
      await markCompacted(backend, b, now);
      damaged.delete(`${tenant}/${b.blockID}`);
      result.blocksDeleted++;
      opts.logger?.info({ tenant, blockID: b.blockID, endTime: b.endTime }, 'block past retention');
    } else if (!damaged.has(`${tenant}/${b.blockID}`)) live.push(b);
  }

  const groups = own?.compactionDisabled === true ? [] : compactionGroups(live, opts.compactionWindowMs, opts.maxInputBlocks ?? DEFAULT_MAX_INPUT_BLOCKS);
  for (const group of groups) {
    let out: BlockMeta;
    try {
      out = await compactGroup(backend, tenant, group, now, writeOptions(opts));
    } catch (err) {
      if (!isBlockDamage(err)) throw err;
      // Find which input is damaged; the others are merged in a later pass.
      for (const b of group) {
        const why = await damageOf(backend, b);
        if (why !== null) noteDamaged(tenant, b.blockID, why, opts, result);
      }
      continue;
    }
    result.blocksCompacted += group.length;
    result.blocksWritten += 1;
    opts.logger?.info(
      { tenant, inputs: group.map((b) => b.blockID), output: out.blockID, traces: out.totalObjects, spans: out.totalSpans },
      'blocks compacted',
    );
  }

  for (const id of await listUnreadableMetas(backend, tenant)) {
    if (damaged.has(`${tenant}/${id}`)) continue;
    try {
      const meta = await rebuildBlock(backend, tenant, id, writeOptions(opts));
      result.blocksRecovered++;
      metrics.recoveredBlocks.inc();
      opts.logger?.warn(
        { tenant, blockID: id, rebuiltAs: meta.blockID, traces: meta.totalObjects },
        'block with an unreadable meta.json rebuilt from its data',
      );
    } catch (err) {
      noteDamaged(tenant, id, err instanceof Error ? err.message : String(err), opts, result);
    }
  }

  const grace = opts.compactedBlockRetentionMs ?? COMPACTED_RETENTION_MS;
  for (const c of await listCompactedBlocks(backend, tenant, now)) {
    if (now - c.compactedMs < grace) continue;
    await deleteBlock(backend, tenant, c.blockID);
    damaged.delete(`${tenant}/${c.blockID}`);
    result.compactedDeleted++;
  }

  result.incompleteDeleted += await cleanIncomplete(backend, tenant, now, opts);
  // Work folders of block writes that crashed midway.
  result.incompleteDeleted += await removeStaleWorkDirs(backend, tenant, opts.incompleteBlockTimeoutMs ?? INCOMPLETE_TIMEOUT_MS, now);
}

function noteDamaged(tenant: string, blockID: string, why: string, opts: CompactionOptions, result: CompactionResult): void {
  const key = `${tenant}/${blockID}`;
  if (damaged.has(key)) return;
  damaged.set(key, why);
  result.blocksDamaged++;
  metrics.damagedBlocks.inc();
  opts.logger?.error({ tenant, blockID, why }, 'block is damaged: left out of compaction (retention still removes it)');
}

/** Reads a whole block; the damage when that fails for good, else null. */
async function damageOf(backend: Backend, meta: BlockMeta): Promise<string | null> {
  let block: StoredBlock | null = null;
  try {
    block = await openBlock(backend, meta);
    for await (const rec of block.traces()) void rec;
    return null;
  } catch (err) {
    return isBlockDamage(err) ? (err instanceof Error ? err.message : String(err)) : null;
  } finally {
    await block?.close();
  }
}

/**
 * A block whose meta.json is unreadable but whose data may be whole: its traces are read from
 * data.parquet and written as a new block (fresh meta, bloom and index), then the old folder goes.
 */
async function rebuildBlock(backend: Backend, tenant: string, blockID: string, write: WriteBlockOptions): Promise<BlockMeta> {
  const stand: BlockMeta = {
    format: BLOCK_FORMAT,
    blockID,
    tenantID: tenant,
    startTime: new Date(0).toISOString(),
    endTime: new Date(0).toISOString(),
    totalObjects: 0,
    totalSpans: 0,
    size: 0,
    compactionLevel: 0,
    minID: '',
    maxID: '',
    totalRecords: 0,
    bloomBytes: 0,
    indexBytes: 0,
  };
  const block = await openBlock(backend, stand);
  try {
    const meta = await writeBlock(backend, tenant, block.traces(), write);
    await deleteBlock(backend, tenant, blockID);
    return meta;
  } finally {
    await block.close();
  }
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

/** How the compactor writes blocks. */
function writeOptions(opts: CompactionOptions): WriteBlockOptions {
  return {
    ...(opts.rowGroupRows !== undefined ? { rowGroupRows: opts.rowGroupRows } : {}),
    ...(opts.bloomFalsePositive !== undefined ? { bloomFalsePositive: opts.bloomFalsePositive } : {}),
  };
}

async function compactGroup(backend: Backend, tenant: string, group: BlockMeta[], now: number, write: WriteBlockOptions): Promise<BlockMeta> {
  const readers = await Promise.all(group.map((m) => openBlock(backend, m)));
  try {
    const merged = mergeSortedTraces(
      readers.map((r) => r.traces()),
      combine,
    );
    const level = Math.max(...group.map((b) => b.compactionLevel)) + 1;
    const meta = await writeBlock(backend, tenant, merged, { ...write, compactionLevel: level });
    // The new block is committed (its meta.json written) before any input goes: a crash in between
    // leaves duplicates, which readers tolerate, never a loss. Inputs stay readable for searches
    // already under way until compacted_block_retention has passed.
    for (const b of group) await markCompacted(backend, b, now);
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
    /**
     * Runs a pass only where no other compactor runs one (distributed mode: an etcd lock); resolves
     * null when the pass was left to another.
     */
    exclusive?: (run: () => Promise<CompactionResult>) => Promise<CompactionResult | null>;
    /** Builds the tenant indexes (storage.trace.blocklist_poll_tenant_index_builders); null or absent: none. */
    tenantIndex?: TenantIndexBuilderOptions | null;
    /** Like `exclusive`, for index builds (a lock of their own, so a long pass does not hold them up). */
    indexExclusive?: (run: () => Promise<TenantIndexBuild>) => Promise<TenantIndexBuild | null>;
  },
): CompactorHandle {
  const interval = opts.intervalMs ?? 5 * 60 * 1000;
  let stopped = false;
  let running: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;

  // Index builds, one at a time: on their own timer, and after each pass that changed blocks.
  const indexOpts = opts.tenantIndex ?? null;
  let indexChain: Promise<void> = Promise.resolve();
  let indexTimer: NodeJS.Timeout | null = null;
  const buildIndex = (): Promise<void> => {
    if (indexOpts === null) return Promise.resolve();
    indexChain = indexChain.then(async () => {
      if (stopped) return;
      const run = (): Promise<TenantIndexBuild> => buildTenantIndexes(backend, opts.logger);
      try {
        const r = await (opts.indexExclusive !== undefined ? opts.indexExclusive(run) : run());
        if (r === null) notBuilder();
      } catch (err) {
        opts.logger?.warn({ err: String(err) }, 'tenant index build failed');
      }
    });
    return indexChain;
  };
  const scheduleIndex = (): void => {
    if (indexOpts === null || stopped) return;
    indexTimer = setTimeout(() => void buildIndex().then(scheduleIndex), indexOpts.intervalMs);
    indexTimer.unref();
  };
  if (indexOpts !== null) void buildIndex().then(scheduleIndex);

  const pass = (): void => {
    if (stopped) return;
    const timer = metrics.compactionDuration.startTimer();
    const run = (): Promise<CompactionResult> => runCompaction(backend, opts);
    running = (opts.exclusive !== undefined ? opts.exclusive(run) : run())
      .then(
        (result) => {
          if (result === null) return;
          metrics.compactedBlocks.inc(result.blocksCompacted);
          metrics.writtenBlocks.inc(result.blocksWritten);
          metrics.retentionDeleted.inc(result.blocksDeleted);
          const changed = result.blocksDeleted + result.blocksCompacted + result.blocksWritten + result.blocksRecovered + result.compactedDeleted;
          // Readers polling the index see the pass's outcome at their next poll, not a cycle later.
          if (changed > 0) return buildIndex().then(() => opts.onChange?.(result));
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
      if (indexTimer !== null) clearTimeout(indexTimer);
      if (running !== null) await running;
      await indexChain;
    },
  };
}
