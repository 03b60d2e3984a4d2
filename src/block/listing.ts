import type { Backend } from '../backend/backend.js';
import { READABLE_FORMATS } from './encoding.js';
import { BLOCK_FILES, blockPath, parseBlockMeta, type BlockMeta } from './meta.js';
import { TENANT_INDEX_FILE } from './tenant-index.js';

/**
 * The backend's catalogue of blocks: which tenants and complete blocks exist, which folders are
 * incomplete or compacted, marking and deleting blocks. Opening a block for reading is encoding.ts's job.
 */

/** Complete blocks of a tenant (folders with a valid meta.json of a format this build reads), oldest start first. */
export async function listBlocks(backend: Backend, tenant: string): Promise<BlockMeta[]> {
  const metas = await readBlockFolders(
    backend,
    tenant,
    async (id) => {
      const buf = await backend.read(blockPath(tenant, id, BLOCK_FILES.meta)).catch(() => null);
      const meta = buf === null ? null : parseBlockMeta(buf);
      return meta !== null && meta.blockID === id && READABLE_FORMATS.includes(meta.format) ? meta : null;
    },
    (m) => m !== null,
  );
  return metas
    .filter((m): m is BlockMeta => m !== null)
    .sort((a, b) => (a.startTime < b.startTime ? -1 : a.startTime > b.startTime ? 1 : a.blockID < b.blockID ? -1 : 1));
}

/** Block folders of a tenant that have neither meta.json nor meta.compacted.json (being written, or left by a crash). */
export async function listIncompleteBlocks(backend: Backend, tenant: string): Promise<string[]> {
  const ids = blockFolders(await backend.list(tenant));
  const out: string[] = [];
  for (const id of ids) {
    const children = await backend.list(blockPath(tenant, id));
    if (children.length > 0 && !children.includes(BLOCK_FILES.meta) && !children.includes(BLOCK_FILES.compactedMeta)) out.push(id);
  }
  return out;
}

/**
 * Block folders whose meta.json is there but unreadable (garbled, or not this block's): their data
 * may still be whole, so the compactor tries to rebuild them rather than leave them unseen.
 */
export async function listUnreadableMetas(backend: Backend, tenant: string): Promise<string[]> {
  const ids = blockFolders(await backend.list(tenant));
  const out: string[] = [];
  for (const id of ids) {
    const buf = await backend.read(blockPath(tenant, id, BLOCK_FILES.meta)).catch(() => null);
    if (buf === null) continue;
    const meta = parseBlockMeta(buf);
    if (meta === null || meta.blockID !== id || meta.tenantID !== tenant) out.push(id);
  }
  return out;
}

/** A block taken out of queries by compaction or retention, and when. */
export interface CompactedBlock {
  readonly blockID: string;
  readonly compactedMs: number;
}

/**
 * Takes a block out of queries: meta.compacted.json (meta.json plus the time) is written, then
 * meta.json removed. Readers already holding the block keep reading its files.
 */
export async function markCompacted(backend: Backend, meta: BlockMeta, nowMs: number): Promise<void> {
  const marked = { ...meta, compactedTime: new Date(nowMs).toISOString() };
  await backend.write(blockPath(meta.tenantID, meta.blockID, BLOCK_FILES.compactedMeta), Buffer.from(JSON.stringify(marked, null, 2)));
  await backend.delete(blockPath(meta.tenantID, meta.blockID, BLOCK_FILES.meta));
}

/** Blocks of a tenant marked compacted; an unreadable marker counts as compacted at `nowMs`. */
export async function listCompactedBlocks(backend: Backend, tenant: string, nowMs: number): Promise<CompactedBlock[]> {
  const ids = blockFolders(await backend.list(tenant));
  const out: CompactedBlock[] = [];
  for (const id of ids) {
    const buf = await backend.read(blockPath(tenant, id, BLOCK_FILES.compactedMeta)).catch(() => null);
    if (buf === null) continue;
    let ms = nowMs;
    try {
      const t = Date.parse(String((JSON.parse(buf.toString('utf8')) as { compactedTime?: unknown }).compactedTime));
      if (Number.isFinite(t)) ms = t;
    } catch {
      // A garbled marker: the block is still compacted; its clock starts now.
    }
    out.push({ blockID: id, compactedMs: ms });
  }
  return out;
}

/**
 * `read` over every block folder of a tenant, listing again while some folder had no live meta.json.
 * A compaction pass writes its new block before it marks the old ones compacted, so when a pass ends
 * while the folders are being read, the old blocks read as compacted and the new one is missing from
 * the listing taken before: the next listing has it. Without this a poll (or a tenant index) taken as
 * a pass ends would miss the merged block and the blocks it replaced alike.
 */
export async function readBlockFolders<T>(backend: Backend, tenant: string, read: (id: string) => Promise<T>, live: (t: T) => boolean): Promise<T[]> {
  const seen = new Set<string>();
  const out: T[] = [];
  for (let round = 0; round < 3; round++) {
    const fresh = blockFolders(await backend.list(tenant)).filter((id) => !seen.has(id));
    for (const id of fresh) seen.add(id);
    const found = await Promise.all(fresh.map(read));
    out.push(...found);
    if (found.every(live)) break;
  }
  return out;
}

/** Drops dot-folders (the writer's `.tmp-*` work folders) and the tenant index: neither is a block. */
function blockFolders(names: string[]): string[] {
  return names.filter((n) => !n.startsWith('.') && n !== TENANT_INDEX_FILE);
}

/** Tenants that have anything stored. */
export async function listTenants(backend: Backend): Promise<string[]> {
  return (await backend.list('')).filter((n) => !n.startsWith('.'));
}

/** Removes a block: its meta files first so readers stop seeing it at once, then the rest. */
export async function deleteBlock(backend: Backend, tenant: string, blockID: string): Promise<void> {
  await backend.delete(blockPath(tenant, blockID, BLOCK_FILES.meta));
  await backend.delete(blockPath(tenant, blockID, BLOCK_FILES.compactedMeta));
  await backend.delete(blockPath(tenant, blockID));
}
