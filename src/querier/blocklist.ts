import type { Logger } from 'pino';
import type { Backend } from '../backend/backend.js';
import type { BlockMeta } from '../block/meta.js';
import { listBlocks, listTenants } from '../block/listing.js';
import { openBlock, type StoredBlock } from '../block/encoding.js';
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

interface Entry {
  readonly meta: BlockMeta;
  block: Promise<Block> | null;
  /** Why the block is skipped, once found damaged. */
  damaged: string | null;
}

/**
 * The querier's view of the blocks in the backend: polled periodically (other processes, the
 * compactor) and told at once about blocks this process flushed. Blocks are opened lazily and kept,
 * so a block's bloom filter, index and caches are read once.
 */
export class Blocklist implements BlockSource {
  private readonly tenants = new Map<string, Map<string, Entry>>();
  /** The stored block behind each opened entry, to close it when it leaves the list. */
  private readonly opened = new Map<Entry, StoredBlock>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly backend: Backend,
    private readonly logger: Logger,
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

  /** Re-reads the block list of every tenant from the backend. */
  async poll(): Promise<void> {
    const seen = new Set<string>();
    for (const tenant of await listTenants(this.backend)) {
      seen.add(tenant);
      const metas = await listBlocks(this.backend, tenant);
      const old = this.tenants.get(tenant) ?? new Map<string, Entry>();
      const next = new Map<string, Entry>();
      for (const meta of metas) next.set(meta.blockID, old.get(meta.blockID) ?? { meta, block: null, damaged: null });
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
    for (const tenant of [...this.tenants.keys()]) if (!seen.has(tenant)) this.tenants.delete(tenant);
  }

  /** A block this process just wrote: visible to queries without waiting for the next poll. */
  add(tenant: string, meta: BlockMeta): void {
    let blocks = this.tenants.get(tenant);
    if (blocks === undefined) {
      blocks = new Map();
      this.tenants.set(tenant, blocks);
    }
    if (!blocks.has(meta.blockID)) blocks.set(meta.blockID, { meta, block: null, damaged: null });
    blocklistLength.set({ tenant }, blocks.size);
  }

  metas(tenant: string): BlockMeta[] {
    return [...(this.tenants.get(tenant)?.values() ?? [])].map((e) => e.meta);
  }

  /** The tenant's blocks overlapping [startMs, endMs] (either may be omitted). */
  async blocks(tenant: string, range: { startMs?: number; endMs?: number } = {}): Promise<Block[]> {
    const first = await this.open(tenant, range.startMs, range.endMs);
    if (first.ok) return first.blocks;
    // A block could not be opened: most likely compacted or deleted since the last poll.
    await this.poll();
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
      await this.poll();
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
