import type { Logger } from 'pino';
import type { Backend } from '../backend/backend.js';
import type { BlockMeta } from '../block/meta.js';
import { listBlocks, listTenants } from '../block/listing.js';
import { openBlock, READABLE_FORMATS, type StoredBlock } from '../block/encoding.js';
import { readTenantIndex, TenantIndexCorrupt } from '../block/tenant-index.js';
import type { RubatoConfig } from '../config/schema.js';
import type { Block, BlockSource } from '../block/block.js';
import { BLOCK_FILES, blockPath } from '../block/meta.js';
import { Counter, Gauge } from 'prom-client';
import { isBlockDamage } from '../block/damage.js';
import { GuardedBlock } from './guarded-block.js';
import { registry } from '../metrics/registry.js';

const blocklistLength = new Gauge({
  name: 'tempodb_blocklist_length',
  help: 'Total number of blocks per tenant.',
  labelNames: ['tenant'] as const,
  registers: [registry],
});

const quarantined = new Gauge({
  name: 'rubato_blocks_quarantined',
  help: 'Blocks found damaged and skipped by queries (until they leave the block list or the process restarts).',
  labelNames: ['tenant'] as const,
  registers: [registry],
});
const blockFallbacks = new Counter({
  name: 'rubato_block_damaged_files_total',
  help: 'Damaged bloom or index files found when opening a block; lookups read the data instead.',
  labelNames: ['tenant'] as const,
  registers: [registry],
});

const tenantIndexErrors = new Counter({
  name: 'tempodb_blocklist_tenant_index_errors_total',
  help: 'Tenant indexes that could not be used (missing, unreadable or stale); the poller listed the backend instead when blocklist_poll_fallback allows.',
  labelNames: ['tenant', 'reason'] as const,
  registers: [registry],
});
const tenantIndexAge = new Gauge({
  name: 'tempodb_blocklist_tenant_index_age_seconds',
  help: 'Age of the tenant index the last poll used.',
  labelNames: ['tenant'] as const,
  registers: [registry],
});
const pollErrors = new Counter({
  name: 'tempodb_blocklist_poll_errors_total',
  help: 'Tenants whose block list could not be refreshed by a poll (the previous list stays).',
  labelNames: ['tenant'] as const,
  registers: [registry],
});

/** How a poller uses the tenant index (storage.trace.blocklist_poll_* keys). */
export interface TenantIndexPolling {
  /** Read `<tenant>/index.json.gz` first (false when no builder writes one: blocklist_poll_tenant_index_builders 0). */
  readonly enabled: boolean;
  /** An index older than this is stale; 0 = never. */
  readonly staleMs: number;
  /** List the backend when the index is missing, unreadable or stale; else keep the previous list. */
  readonly fallback: boolean;
}

/** Tempo's defaults: read the index, never stale, list when it cannot be used. */
export const DEFAULT_TENANT_INDEX_POLLING: TenantIndexPolling = { enabled: true, staleMs: 0, fallback: true };

export function tenantIndexPollingOf(cfg: RubatoConfig): TenantIndexPolling {
  const t = cfg.storage.trace;
  return { enabled: t.blocklist_poll_tenant_index_builders > 0, staleMs: t.blocklist_poll_stale_tenant_index, fallback: t.blocklist_poll_fallback };
}

interface Entry {
  readonly meta: BlockMeta;
  block: Promise<Block> | null;
  /** Why the block is skipped, once found damaged. */
  damaged: string | null;
}

/**
 * The querier's view of the blocks in the backend: polled periodically (other processes, the
 * compactor) and told at once about blocks this process flushed. Blocks are opened lazily and kept,
 * so a block's bloom filter, index and caches are read once. A poll reads each tenant's index
 * (one GET) when there is a usable one, and lists the tenant's folder (one LIST and one GET per
 * block) otherwise.
 */
export class Blocklist implements BlockSource {
  private readonly tenants = new Map<string, Map<string, Entry>>();
  /** The stored block behind each opened entry, to close it when it leaves the list. */
  private readonly opened = new Map<Entry, StoredBlock>();
  /** Blocks this process added, and when: kept until a list taken after that time has them (or not). */
  private readonly added = new Map<string, Map<string, { meta: BlockMeta; atMs: number }>>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly backend: Backend,
    private readonly logger: Logger,
    private readonly index: TenantIndexPolling = DEFAULT_TENANT_INDEX_POLLING,
  ) {}

  async start(pollMs: number): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => {
      this.poll().catch((err: unknown) => this.logger.error({ err }, 'blocklist poll failed'));
    }, pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Re-reads the block list of every tenant from the backend (its index, or a listing). */
  async poll(): Promise<void> {
    const seen = new Set<string>();
    for (const tenant of await listTenants(this.backend)) {
      seen.add(tenant);
      await this.refresh(tenant, false);
    }
    for (const tenant of [...this.tenants.keys()]) if (!seen.has(tenant)) this.tenants.delete(tenant);
  }

  /** One tenant's list from its index or, when `list` or the index cannot be used, a listing. */
  private async refresh(tenant: string, list: boolean): Promise<void> {
    let found: { metas: BlockMeta[]; asOfMs: number } | null;
    try {
      found = await this.read(tenant, list);
    } catch (err) {
      found = null;
      this.logger.warn({ tenant, err: String(err) }, 'polling the block list of a tenant failed; keeping the previous list');
    }
    if (found === null) {
      pollErrors.inc({ tenant });
      return;
    }
    const old = this.tenants.get(tenant) ?? new Map<string, Entry>();
    const next = new Map<string, Entry>();
    for (const meta of found.metas) next.set(meta.blockID, old.get(meta.blockID) ?? { meta, block: null, damaged: null });
    // A block this process wrote after the list was taken (an index built before the flush) stays.
    const pending = this.added.get(tenant);
    for (const [id, a] of pending ?? []) {
      if (a.atMs < found.asOfMs) pending?.delete(id);
      else if (!next.has(id)) next.set(id, old.get(id) ?? { meta: a.meta, block: null, damaged: null });
    }
    for (const [id, e] of old) {
      if (!next.has(id)) {
        const opened = this.opened.get(e);
        this.opened.delete(e);
        opened?.close().catch((err: unknown) => this.logger.warn({ err, block: id }, 'closing a removed block failed'));
      }
    }
    this.tenants.set(tenant, next);
    blocklistLength.set({ tenant }, next.size);
    quarantined.set({ tenant }, [...next.values()].filter((e) => e.damaged !== null).length);
  }

  /** The tenant's live metas and the time they are as of; null when neither index nor listing may be used. */
  private async read(tenant: string, list: boolean): Promise<{ metas: BlockMeta[]; asOfMs: number } | null> {
    if (this.index.enabled && !list) {
      let reason: string;
      try {
        const idx = await readTenantIndex(this.backend, tenant);
        if (idx === null) reason = 'missing';
        else {
          const ageMs = Date.now() - idx.createdAt.getTime();
          tenantIndexAge.set({ tenant }, Math.max(0, ageMs) / 1000);
          if (this.index.staleMs <= 0 || ageMs <= this.index.staleMs) {
            return { metas: idx.meta.filter((m) => READABLE_FORMATS.includes(m.format)), asOfMs: idx.createdAt.getTime() };
          }
          reason = 'stale';
          this.logger.warn({ tenant, ageSeconds: Math.round(ageMs / 1000) }, 'tenant index is stale (blocklist_poll_stale_tenant_index)');
        }
      } catch (err) {
        if (!(err instanceof TenantIndexCorrupt)) throw err;
        reason = 'corrupt';
        this.logger.error({ tenant, err: err.message }, 'tenant index is unreadable');
      }
      tenantIndexErrors.inc({ tenant, reason });
      if (!this.index.fallback) {
        this.logger.warn({ tenant, reason }, 'tenant index unusable and blocklist_poll_fallback is off: keeping the previous block list');
        return null;
      }
    }
    const asOfMs = Date.now();
    return { metas: await listBlocks(this.backend, tenant), asOfMs };
  }

  /** A block this process just wrote: visible to queries without waiting for the next poll. */
  add(tenant: string, meta: BlockMeta): void {
    let blocks = this.tenants.get(tenant);
    if (blocks === undefined) {
      blocks = new Map();
      this.tenants.set(tenant, blocks);
    }
    if (!blocks.has(meta.blockID)) blocks.set(meta.blockID, { meta, block: null, damaged: null });
    let pending = this.added.get(tenant);
    if (pending === undefined) this.added.set(tenant, (pending = new Map()));
    pending.set(meta.blockID, { meta, atMs: Date.now() });
    blocklistLength.set({ tenant }, blocks.size);
  }

  metas(tenant: string): BlockMeta[] {
    return [...(this.tenants.get(tenant)?.values() ?? [])].map((e) => e.meta);
  }

  /** The tenant's blocks overlapping [startMs, endMs] (either may be omitted). */
  async blocks(tenant: string, range: { startMs?: number; endMs?: number } = {}): Promise<Block[]> {
    const first = await this.open(tenant, range.startMs, range.endMs);
    if (first.ok) return first.blocks;
    // A block could not be opened: most likely compacted or deleted since the last poll (an index may
    // not know yet: the tenant's folder is listed).
    await this.refresh(tenant, true);
    return (await this.open(tenant, range.startMs, range.endMs)).blocks;
  }

  /**
   * A query on a block failed. Gone (compacted or deleted since the last poll): re-read the list.
   * Damaged: quarantine it (logged, counted, skipped from now on). Anything else is thrown on.
   */
  private async failed(tenant: string, e: Entry, err: unknown): Promise<void> {
    const meta = await this.backend.read(blockPath(tenant, e.meta.blockID, BLOCK_FILES.meta)).catch((readErr: unknown) => {
      this.logger.warn({ tenant, block: e.meta.blockID, err: readErr }, 'cannot read the meta.json of a failing block; treating it as gone');
      return null;
    });
    if (meta === null) {
      this.logger.info({ tenant, block: e.meta.blockID }, 'block gone during a query; re-reading the block list');
      await this.refresh(tenant, true);
      return;
    }
    if (!isBlockDamage(err)) throw err;
    if (e.damaged === null) {
      e.damaged = err instanceof Error ? err.message : String(err);
      quarantined.inc({ tenant });
      this.logger.error({ tenant, block: e.meta.blockID, err }, 'block is damaged: quarantined, queries skip it');
    }
  }

  private async open(tenant: string, startMs?: number, endMs?: number): Promise<{ ok: boolean; blocks: Block[] }> {
    const out: Promise<Block>[] = [];
    for (const e of this.tenants.get(tenant)?.values() ?? []) {
      if (e.damaged !== null) continue;
      if (startMs !== undefined && Date.parse(e.meta.endTime) < startMs) continue;
      if (endMs !== undefined && Date.parse(e.meta.startTime) > endMs) continue;
      let p = e.block;
      if (p === null) {
        p = openBlock(this.backend, e.meta).then((b) => {
          this.opened.set(e, b);
          if (b.problems.length > 0) {
            blockFallbacks.inc({ tenant }, b.problems.length);
            this.logger.warn({ tenant, block: e.meta.blockID, problems: b.problems }, 'block has damaged files; reading its data instead');
          }
          return new GuardedBlock(b, (err) => this.failed(tenant, e, err));
        });
        // Not swallowed: the caller awaits the same promise and sees the error; only the cache forgets it.
        p.catch(() => {
          e.block = null;
        });
        e.block = p;
      }
      out.push(p);
    }
    const settled = await Promise.allSettled(out);
    return {
      ok: settled.every((s) => s.status === 'fulfilled'),
      blocks: settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : [])),
    };
  }
}
