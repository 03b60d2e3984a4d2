// Tempo's cross-tenant query (`X-Scope-OrgID: a|b`) fans a request out per tenant and combines the
// answers with the same combiners that merge its shards. rubato's queriers are already one loop over
// blocks that merges what the blocks hold, so federating is handing them every named tenant's blocks:
// trace by ID merges the trace's parts from each tenant (duplicate spans dropped), search, tags, tag
// values and metrics read all of them in one pass.
import type { Block, BlockSource } from '../block/block.js';
import { TENANT_SEPARATOR, tenantsOf } from '../model/tenant.js';

/** A block source that answers a tenant key `a|b` with the blocks of `a` and of `b`. */
export function federated(source: BlockSource): BlockSource {
  return {
    blocks: async (tenant: string, range?: { startMs?: number; endMs?: number }): Promise<Block[]> => {
      if (!tenant.includes(TENANT_SEPARATOR)) return source.blocks(tenant, range);
      const lists = await Promise.all(tenantsOf(tenant).map((t) => source.blocks(t, range)));
      return lists.flat();
    },
  };
}
