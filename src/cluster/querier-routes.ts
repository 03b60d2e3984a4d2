/**
 * The querier's internal endpoints, which the query frontend (frontend.ts) sends its jobs to, on the
 * querier's API port as Tempo's queriers have them: a search over one part of a tenant's data (recent
 * data only, or a list of stored blocks), a TraceQL metrics query over a sub-range, and the requests
 * the frontend does not split (trace by ID, tag names and values). Answers are the querier's own
 * result types in JSON (querier-wire.ts), so the frontend merges them without loss.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Block, BlockSource } from '../block/block.js';
import { querySignal } from '../api/deadline.js';
import { tenantOf } from '../api/tenant.js';
import { federated } from '../querier/federated.js';
import { MetricsQuerier } from '../querier/metrics.js';
import { Querier } from '../querier/querier.js';
import { Searcher } from '../querier/search.js';
import { TagService } from '../querier/tags.js';
import { TraceQLParseError, TraceQLUnsupportedError, TraceQLValidationError, validate, type RootExpr } from '../traceql/index.js';
import {
  InternalBadRequest,
  metricsAnswerJson,
  readMetricsJob,
  readSearchJob,
  readTagsJob,
  readTagValuesJob,
  searchResultJson,
  tagNamesJson,
  tagValuesJson,
} from './querier-wire.js';

/** Paths of the internal endpoints, shared by both ends. */
export const QUERIER_PATHS = {
  search: '/querier/search',
  metrics: '/querier/metrics',
  tags: '/querier/tags',
  tagValues: '/querier/tag-values',
  trace: '/querier/trace',
} as const;

export interface QuerierRoutesDeps {
  readonly multitenancy: boolean;
  /** Recent data (the ingesters). */
  readonly recent: BlockSource;
  /** Stored blocks as this querier reads them (replicas marked for metrics). */
  readonly stored: BlockSource;
  /** Re-reads the block list: a job may name a block this querier's last poll has not seen. */
  readonly refreshBlocks: () => Promise<void>;
  readonly searchTimeoutMs: number;
  readonly traceByIdTimeoutMs: number;
  /** Tempo's read.max_bytes_per_tag_values_query of a tenant; 0: no bound. */
  readonly maxTagValueBytes: (tenant: string) => number;
  readonly logger: Logger;
}

/**
 * A block-list re-read for jobs that name unknown blocks, at most once per `minGapMs`: a block that
 * stays unknown (quarantined here as damaged, say) must not cost a full poll per job. Callers
 * meanwhile share the re-read under way, or go on with the list as it is.
 */
export function throttledRefresh(poll: () => Promise<void>, minGapMs: number): () => Promise<void> {
  let running: Promise<void> | null = null;
  let last = Number.NEGATIVE_INFINITY;
  return () => {
    if (running !== null) return running;
    if (Date.now() - last < minGapMs) return Promise.resolve();
    last = Date.now();
    running = poll().finally(() => {
      running = null;
    });
    return running;
  };
}

/** Validates a query tree that came over the wire; whatever is wrong with it is the caller's fault. */
function checked(root: RootExpr): RootExpr {
  try {
    validate(root);
    return root;
  } catch (err) {
    if (err instanceof TraceQLParseError || err instanceof TraceQLValidationError || err instanceof TraceQLUnsupportedError || err instanceof TypeError) {
      throw new InternalBadRequest(`invalid query: ${err.message}`);
    }
    throw err;
  }
}

/** Only the blocks with the given IDs, noting the IDs it did not find. */
class ChosenBlocks implements BlockSource {
  readonly missing = new Set<string>();
  constructor(
    private readonly source: BlockSource,
    private readonly ids: ReadonlySet<string>,
    private readonly refresh: () => Promise<void>,
  ) {}

  async blocks(tenant: string, range?: { startMs?: number; endMs?: number }): Promise<Block[]> {
    const pick = async (): Promise<Block[]> => (await this.source.blocks(tenant, range)).filter((b) => this.ids.has(b.info.id));
    let found = await pick();
    if (found.length < this.ids.size) {
      await this.refresh();
      found = await pick();
    }
    const seen = new Set(found.map((b) => b.info.id));
    for (const id of this.ids) if (!seen.has(id)) this.missing.add(id);
    return found;
  }
}

export function registerQuerierRoutes(app: FastifyInstance, deps: QuerierRoutesDeps): void {
  const recent = federated(deps.recent);
  const stored = federated(deps.stored);
  const all = [recent, stored];
  const handle =
    (fn: (tenant: string, req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>) =>
    async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const tenant = tenantOf(req.headers, deps.multitenancy);
      if (tenant === null) return reply.code(401).type('text/plain').send('no org id');
      try {
        return await fn(tenant, req, reply);
      } catch (err) {
        // The engine's own complaints about a query are the caller's problem, not the querier's.
        if (err instanceof TraceQLValidationError || err instanceof TraceQLUnsupportedError) throw new InternalBadRequest(`invalid query: ${err.message}`);
        throw err;
      }
    };
  const json = (reply: FastifyReply, body: unknown): FastifyReply => reply.type('application/json').send(JSON.stringify(body));
  const signalOf = (reply: FastifyReply): AbortSignal => querySignal(reply, deps.searchTimeoutMs, 'querier.search.query_timeout');

  app.post(
    QUERIER_PATHS.search,
    handle(async (tenant, req, reply) => {
      const job = readSearchJob(req.body);
      const query = checked(job.query);
      const chosen = job.source.kind === 'recent' ? null : new ChosenBlocks(stored, new Set(job.source.blockIds), deps.refreshBlocks);
      const result = await new Searcher([chosen ?? recent]).search(tenant, {
        query,
        limit: job.limit,
        spss: job.spss,
        ...(job.startMs !== undefined ? { startMs: job.startMs } : {}),
        ...(job.endMs !== undefined ? { endMs: job.endMs } : {}),
        ...(job.minDurationNs !== undefined ? { minDurationNs: job.minDurationNs } : {}),
        ...(job.maxDurationNs !== undefined ? { maxDurationNs: job.maxDurationNs } : {}),
        maxResultBytes: job.maxResultBytes,
        signal: signalOf(reply),
      });
      const missingBlocks = [...(chosen?.missing ?? [])];
      if (missingBlocks.length > 0) deps.logger.warn({ tenant, missingBlocks }, 'a search job named blocks this querier does not know (compacted or deleted?)');
      return json(reply, searchResultJson({ ...result, missingBlocks }));
    }),
  );

  app.post(
    QUERIER_PATHS.metrics,
    handle(async (tenant, req, reply) => {
      const job = readMetricsJob(req.body);
      const query = checked(job.query);
      const answer = await new MetricsQuerier(job.sources === 'all' ? all : [stored]).query(tenant, {
        query,
        range: job.range,
        exemplars: job.exemplars,
        maxSeries: job.maxSeries,
        signal: signalOf(reply),
      });
      return json(reply, metricsAnswerJson(answer));
    }),
  );

  app.post(
    QUERIER_PATHS.tags,
    handle(async (tenant, req, reply) => {
      const job = readTagsJob(req.body);
      const found = await new TagService(all).tagNames(tenant, job.scopes, {
        ...job,
        ...(job.query !== undefined ? { query: checked(job.query) } : {}),
        signal: signalOf(reply),
      });
      return json(reply, tagNamesJson(found));
    }),
  );

  app.post(
    QUERIER_PATHS.tagValues,
    handle(async (tenant, req, reply) => {
      const job = readTagValuesJob(req.body);
      const values = await new TagService(all).tagValues(tenant, job.tag, {
        ...job,
        ...(job.query !== undefined ? { query: checked(job.query) } : {}),
        maxBytes: deps.maxTagValueBytes(tenant),
        signal: signalOf(reply),
      });
      return json(reply, tagValuesJson(values));
    }),
  );

  app.get(
    `${QUERIER_PATHS.trace}/:traceId`,
    handle(async (tenant, req, reply) => {
      const traceId = (req.params as { traceId?: string }).traceId ?? '';
      if (!/^[0-9a-f]{32}$/.test(traceId)) throw new InternalBadRequest(`trace job: trace ID must be 32 lower-case hex digits, got ${JSON.stringify(traceId)}`);
      const q = req.query as { startMs?: string; endMs?: string };
      const ms = (k: 'startMs' | 'endMs'): number | undefined => {
        const v = q[k];
        if (v === undefined || v === '') return undefined;
        const n = Number(v);
        if (!Number.isFinite(n) || n < 0) throw new InternalBadRequest(`trace job: ${k} must be unix milliseconds`);
        return n;
      };
      const startMs = ms('startMs');
      const endMs = ms('endMs');
      const signal = querySignal(reply, deps.traceByIdTimeoutMs, 'querier.trace_by_id.query_timeout');
      const range = { ...(startMs !== undefined ? { startMs } : {}), ...(endMs !== undefined ? { endMs } : {}) };
      const trace = await new Querier(all).findTraceById(tenant, traceId, range, signal);
      if (trace === null) return reply.code(404).type('text/plain').send('trace not found');
      return reply.type('application/protobuf').send(Buffer.from(trace));
    }),
  );
}
