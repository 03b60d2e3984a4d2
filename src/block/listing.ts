import type { Backend } from '../backend/backend.js';
import { READABLE_FORMATS } from './encoding.js';
import { BLOCK_FILES, blockPath, parseBlockMeta, type BlockMeta } from './meta.js';

/**
 * The backend's catalogue of blocks: which tenants and complete blocks exist, which folders are
 * incomplete, and deleting a block. Opening a block for reading is encoding.ts's job.
 */

/** Complete blocks of a tenant (folders with a valid meta.json of a format this build reads), oldest start first. */
export async function listBlocks(backend: Backend, tenant: string): Promise<BlockMeta[]> {
  const ids = blockFolders(await backend.list(tenant));
  const metas = await Promise.all(
    ids.map(async (id) => {
      const buf = await backend.read(blockPath(tenant, id, BLOCK_FILES.meta)).catch(() => null);
      const meta = buf === null ? null : parseBlockMeta(buf);
      return meta !== null && meta.blockID === id && READABLE_FORMATS.includes(meta.format) ? meta : null;
    }),
  );
  return metas
    .filter((m): m is BlockMeta => m !== null)
    .sort((a, b) => (a.startTime < b.startTime ? -1 : a.startTime > b.startTime ? 1 : a.blockID < b.blockID ? -1 : 1));
}

/** Block folders of a tenant that have no meta.json (being written, or left by a crash). */
export async function listIncompleteBlocks(backend: Backend, tenant: string): Promise<string[]> {
  const ids = blockFolders(await backend.list(tenant));
  const out: string[] = [];
  for (const id of ids) {
    const children = await backend.list(blockPath(tenant, id));
    if (children.length > 0 && !children.includes(BLOCK_FILES.meta)) out.push(id);
  }
  return out;
}

/** Drops dot-folders: the writer's `.tmp-*` work folders are neither blocks nor incomplete blocks. */
function blockFolders(names: string[]): string[] {
  return names.filter((n) => !n.startsWith('.'));
}

/** Tenants that have anything stored. */
export async function listTenants(backend: Backend): Promise<string[]> {
  return (await backend.list('')).filter((n) => !n.startsWith('.'));
}

/** Removes a block: meta.json first so readers stop seeing it at once, then the rest. */
export async function deleteBlock(backend: Backend, tenant: string, blockID: string): Promise<void> {
  await backend.delete(blockPath(tenant, blockID, BLOCK_FILES.meta));
  await backend.delete(blockPath(tenant, blockID));
}
