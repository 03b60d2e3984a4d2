/**
 * Tempo's per-tenant block index: `<tenant>/index.json.gz`, a gzipped JSON object with the metas of
 * the tenant's live blocks and of its compacted blocks, written by one builder (the compactor holding
 * the index lock) every blocklist_poll. Every other poller reads this one object instead of listing
 * the tenant's folder and reading each block's meta.json: one GET per tenant and poll instead of one
 * LIST plus one GET per block. Layout (Tempo's field names):
 *
 *   { "created_at": "<ISO 8601>", "meta": [<meta.json>...], "compacted": [<meta.compacted.json>...] }
 *
 * A `meta` entry is a block's meta.json; a `compacted` entry is its meta.compacted.json (the meta plus
 * `compactedTime`). Readers skip entries they cannot read, as listing skips such folders.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Backend } from '../backend/backend.js';
import { READABLE_FORMATS } from './encoding.js';
import { readBlockFolders } from './listing.js';
import { BLOCK_FILES, blockMetaOf, blockPath, type BlockMeta } from './meta.js';

/** The index's name inside the tenant's folder (Tempo's). */
export const TENANT_INDEX_FILE = 'index.json.gz';

export interface CompactedBlockMeta extends BlockMeta {
  /** ISO 8601: when the block was taken out of queries. */
  readonly compactedTime: string;
}

export interface TenantIndex {
  /** When the builder started listing: blocks written after it may be missing. */
  readonly createdAt: Date;
  readonly meta: BlockMeta[];
  readonly compacted: CompactedBlockMeta[];
}

/** An index that is there but cannot be read (truncated, garbled, not an index). */
export class TenantIndexCorrupt extends Error {
  constructor(tenant: string, why: string) {
    super(`tenant index of ${tenant} is unreadable: ${why}`);
    this.name = 'TenantIndexCorrupt';
  }
}

export function tenantIndexPath(tenant: string): string {
  return `${tenant}/${TENANT_INDEX_FILE}`;
}

export function encodeTenantIndex(index: TenantIndex): Buffer {
  return gzipSync(JSON.stringify({ created_at: index.createdAt.toISOString(), meta: index.meta, compacted: index.compacted }));
}

/** Parses an index; throws TenantIndexCorrupt for anything that is not one. Unreadable entries are dropped. */
export function decodeTenantIndex(tenant: string, buf: Uint8Array): TenantIndex {
  let v: unknown;
  try {
    v = JSON.parse(gunzipSync(buf).toString('utf8'));
  } catch (err) {
    throw new TenantIndexCorrupt(tenant, err instanceof Error ? err.message : String(err));
  }
  if (typeof v !== 'object' || v === null) throw new TenantIndexCorrupt(tenant, 'not a JSON object');
  const o = v as Record<string, unknown>;
  const createdAt = typeof o['created_at'] === 'string' ? new Date(o['created_at']) : null;
  if (createdAt === null || !Number.isFinite(createdAt.getTime())) throw new TenantIndexCorrupt(tenant, 'created_at missing or not a time');
  if (!Array.isArray(o['meta'])) throw new TenantIndexCorrupt(tenant, 'meta is not a list');
  const compactedRaw: unknown[] = Array.isArray(o['compacted']) ? o['compacted'] : [];
  const meta: BlockMeta[] = [];
  for (const e of o['meta'] as unknown[]) {
    const m = blockMetaOf(e);
    if (m !== null && m.tenantID === tenant) meta.push(m);
  }
  const compacted: CompactedBlockMeta[] = [];
  for (const e of compactedRaw) {
    const m = blockMetaOf(e);
    if (m !== null && m.tenantID === tenant && typeof (m as Partial<CompactedBlockMeta>).compactedTime === 'string') compacted.push(m as CompactedBlockMeta);
  }
  return { createdAt, meta, compacted };
}

/** The tenant's index, or null when there is none. Throws TenantIndexCorrupt when it cannot be read. */
export async function readTenantIndex(backend: Backend, tenant: string): Promise<TenantIndex | null> {
  const buf = await backend.read(tenantIndexPath(tenant));
  return buf === null ? null : decodeTenantIndex(tenant, buf);
}

export async function writeTenantIndex(backend: Backend, tenant: string, index: TenantIndex): Promise<void> {
  await backend.write(tenantIndexPath(tenant), encodeTenantIndex(index));
}

/**
 * Lists a tenant's folder the long way (one LIST, one GET of meta.json per block folder, and of
 * meta.compacted.json where there is no meta.json): what the builder indexes. Live metas in a format
 * this build cannot read are left out, as listBlocks does.
 */
export async function scanTenant(backend: Backend, tenant: string, createdAt = new Date()): Promise<TenantIndex> {
  const found = await readBlockFolders(
    backend,
    tenant,
    async (id): Promise<{ live?: BlockMeta; compacted?: CompactedBlockMeta }> => {
      const live = await readJson(backend, blockPath(tenant, id, BLOCK_FILES.meta));
      if (live !== undefined) {
        const m = blockMetaOf(live);
        return m !== null && m.blockID === id && READABLE_FORMATS.includes(m.format) ? { live: m } : {};
      }
      const c = blockMetaOf(await readJson(backend, blockPath(tenant, id, BLOCK_FILES.compactedMeta)));
      return c !== null && c.blockID === id && typeof (c as Partial<CompactedBlockMeta>).compactedTime === 'string'
        ? { compacted: c as CompactedBlockMeta }
        : {};
    },
    (f) => f.live !== undefined,
  );
  const byStart = (a: BlockMeta, b: BlockMeta): number => (a.startTime < b.startTime ? -1 : a.startTime > b.startTime ? 1 : a.blockID < b.blockID ? -1 : 1);
  return {
    createdAt,
    meta: found.flatMap((f) => (f.live !== undefined ? [f.live] : [])).sort(byStart),
    compacted: found.flatMap((f) => (f.compacted !== undefined ? [f.compacted] : [])).sort(byStart),
  };
}

/**
 * The parsed object; undefined when it is missing, null when it is not JSON. A failed read throws: a
 * block must not drop out of the index because one GET failed (the old index stays instead).
 */
async function readJson(backend: Backend, path: string): Promise<unknown> {
  const buf = await backend.read(path);
  if (buf === null) return undefined;
  try {
    return JSON.parse(buf.toString('utf8')) as unknown;
  } catch {
    return null;
  }
}
