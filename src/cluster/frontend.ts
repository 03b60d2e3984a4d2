/**
 * The query frontend of distributed mode. It serves the same HTTP API as one process (startApiServer
 * over the data functions here), and behind them cuts work into jobs that the queriers registered in
 * etcd answer on their internal endpoints (querier-routes.ts), as Tempo's frontend shards:
 * - search: one job over recent data plus jobs over groups of stored blocks (frontend-jobs.ts),
 *   at most query_frontend.search.concurrent_jobs at a time, merged by trace ID (frontend-merge.ts);
 *   no new job starts once enough traces are found;
 * - TraceQL metrics: step-aligned time ranges of about query_frontend.metrics.interval, laid side by side;
 * - trace by ID and tags: one querier answers the whole request.
 * Queriers are taken in turn; a job whose querier cannot be reached (or answers 5xx) goes to the next
 * one, up to query_frontend.max_retries times.
 */
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import type { TimeRange } from '../querier/querier.js';
import { registry } from '../metrics/registry.js';
import type { MetricsAnswer, MetricsRequest } from '../querier/metrics.js';
import { hasMostRecentHint, type SearchRequest } from '../querier/search.js';
import type { SearchResult } from '../querier/search-result.js';
import type { TagRef, TagRequest, TagScope, TagScopeNames, TagValue } from '../querier/tags.js';
import { alignRange, exemplarsWanted, IntervalMapper } from '../traceql/index.js';
import {
  emptyIntervalValue,
  planMetricsJobs,
  planSearchJobs,
  splittableByTime,
  type BlockRef,
  type MetricsJob,
  type SearchJob,
  type SearchPlanSettings,
} from './frontend-jobs.js';
import { mergeMetricsParts, SearchMerger, type MetricsPart } from './frontend-merge.js';
import type { QuerierHttp } from './querier-http.js';
import { QUERIER_PATHS } from './querier-routes.js';
import { metricsAnswerOf, metricsJobJson, searchJobJson, searchResultOf, tagNamesOf, tagsJobJson, tagValuesJobJson, tagValuesOf } from './querier-wire.js';
import type { RingInstance } from './ring.js';

const jobsRun = new Counter({
  name: 'rubato_frontend_jobs_total',
  help: 'Jobs the query frontend had queriers answer, by query kind (search, metrics).',
  labelNames: ['op'],
  registers: [registry],
});
const jobRetries = new Counter({
  name: 'rubato_frontend_job_retries_total',
  help: 'Job attempts sent to another querier because one could not be reached or answered 5xx.',
  labelNames: ['op'],
  registers: [registry],
});
const forwarded = new Counter({
  name: 'rubato_frontend_forwarded_requests_total',
  help: 'Query API requests the frontend handed whole to one querier (trace by ID, tags), by outcome (ok, retried, failed).',
  labelNames: ['outcome'],
  registers: [registry],
});
const missingBlocks = new Counter({
  name: 'rubato_frontend_missing_blocks_total',
  help: 'Blocks a search job named that its querier did not know (compacted or deleted between block-list polls).',
  registers: [registry],
});

/** An answer the frontend cannot give; fastify answers with its status. */
class FrontendError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface FrontendOptions {
  /** Healthy queriers now. */
  readonly queriers: () => readonly RingInstance[];
  /** A tenant's stored blocks (every tenant of `a|b`), from the frontend's own block-list poll. */
  readonly blocks: (tenant: string) => readonly BlockRef[];
  /** Re-reads the block list now (a querier did not know blocks a job named: compacted meanwhile). */
  readonly refreshBlocks: () => Promise<void>;
  readonly search: SearchPlanSettings & { readonly concurrentJobs: number };
  readonly metrics: {
    /** query_frontend.metrics.interval: length of one time job. */
    readonly intervalMs: number;
    readonly concurrentJobs: number;
    /** query_frontend.metrics.query_backend_after: time jobs older than this read stored blocks only; 0: every job reads all. */
    readonly queryBackendAfterMs: number;
  };
  /** query_frontend.max_retries: further queriers a job is sent to when one fails. */
  readonly maxRetries: number;
  /** Longest wait for one querier's answer. */
  readonly timeoutMs: number;
  /** Requests to a querier's HTTP port (TLS, the caller's token). */
  readonly http: QuerierHttp;
  readonly logger: Logger;
}

interface Answer {
  readonly status: number;
  readonly body: Buffer;
}

/** The data functions of the API server, answered by queriers. */
export class QueryFrontend {
  private next = 0;

  constructor(private readonly opts: FrontendOptions) {}

  /**
   * Sends one request to a querier; on a connection failure or a 5xx other than a timeout, to the
   * next one, up to max_retries more times. Other answers are the caller's to read.
   */
  private async send(op: string, tenant: string, path: string, body: unknown, signal: AbortSignal | undefined): Promise<Answer & { retried: boolean }> {
    const queriers = this.opts.queriers();
    if (queriers.length === 0) throw new FrontendError(503, 'no querier is registered in the ring');
    const first = this.next++;
    let lastErr = '';
    for (let attempt = 0; attempt <= Math.max(0, this.opts.maxRetries); attempt++) {
      if (attempt > 0) jobRetries.inc({ op });
      const q = queriers[(first + attempt) % queriers.length]!;
      const timeout = AbortSignal.timeout(this.opts.timeoutMs);
      try {
        const res = await this.opts.http.send(q.httpAddr, path, {
          method: body === undefined ? 'GET' : 'POST',
          headers: { 'x-scope-orgid': tenant, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
        });
        const buf = res.body;
        if (res.status >= 500 && res.status !== 504) {
          lastErr = `querier ${q.id} answered ${res.status}: ${buf.toString('utf8', 0, 300)}`;
          this.opts.logger.warn({ querier: q.id, path, status: res.status }, 'querier failed a job; trying the next');
          continue;
        }
        return { status: res.status, body: buf, retried: attempt > 0 };
      } catch (err) {
        if (signal?.aborted === true) throw signal.reason;
        lastErr = `querier ${q.id} could not be reached: ${String(err)}`;
        this.opts.logger.warn({ querier: q.id, path, err: String(err) }, 'querier unreachable; trying the next');
      }
    }
    throw new FrontendError(502, `no querier answered: ${lastErr}`);
  }

  /** A JSON answer of an internal endpoint, or an error carrying what the querier said. */
  private async ask(op: string, tenant: string, path: string, body: unknown, signal: AbortSignal | undefined): Promise<unknown> {
    const a = await this.send(op, tenant, path, body, signal);
    if (a.status === 200) return JSON.parse(a.body.toString('utf8')) as unknown;
    // 400 here means the frontend built a job the querier cannot read: a bug, not the user's fault.
    const status = a.status === 504 ? 504 : 500;
    throw new FrontendError(status, `querier answered ${a.status} to ${path}: ${a.body.toString('utf8', 0, 500)}`);
  }

  /**
   * Runs jobs over the queriers, at most `concurrency` at a time, in order; stops starting jobs once
   * `enough()` and cancels those still out. One failed job fails the request.
   */
  private async runJobs<J, R>(
    jobs: readonly J[],
    concurrency: number,
    run: (job: J, signal: AbortSignal) => Promise<R>,
    done: (job: J, r: R) => void,
    enough: () => boolean,
    outer: AbortSignal | undefined,
  ): Promise<void> {
    const ctl = new AbortController();
    const signal = outer === undefined ? ctl.signal : AbortSignal.any([outer, ctl.signal]);
    let next = 0;
    let failure: { err: unknown } | null = null;
    let stopped = false;
    const worker = async (): Promise<void> => {
      while (failure === null && !stopped && next < jobs.length) {
        const job = jobs[next++]!;
        try {
          const r = await run(job, signal);
          if (failure !== null || stopped) return;
          done(job, r);
          if (enough()) {
            stopped = true;
            ctl.abort(new Error('enough results'));
          }
        } catch (err) {
          // Cancelled because enough results are in: the error is the cancellation itself.
          if (stopped) return;
          if (failure === null) {
            failure = { err };
            ctl.abort(err);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, jobs.length)) }, worker));
    if (outer?.aborted === true) throw outer.reason;
    if (failure !== null) throw (failure as { err: unknown }).err;
  }

  async search(tenant: string, req: SearchRequest): Promise<SearchResult> {
    const range = { startMs: req.startMs, endMs: req.endMs };
    const merger = new SearchMerger(req.limit, req.spss, req.maxResultBytes ?? 0);
    const mostRecent = hasMostRecentHint(req.query);
    const planned = new Set<string>();
    let missing = 0;
    const run = async (jobs: readonly SearchJob[], blocks: readonly BlockRef[]): Promise<void> => {
      const bytesOf = new Map(blocks.map((b) => [b.id, b.bytes]));
      merger.metrics.totalJobs += jobs.length;
      for (const j of jobs) {
        // Recent data counts as one block, as it does in one process.
        merger.metrics.totalBlocks += j.kind === 'recent' ? 1 : j.blockIds.length;
        if (j.kind === 'blocks') for (const id of j.blockIds) merger.metrics.totalBlockBytes += bytesOf.get(id) ?? 0;
        if (j.kind === 'blocks') for (const id of j.blockIds) planned.add(id);
      }
      await this.runJobs(
        jobs,
        this.opts.search.concurrentJobs,
        (job, signal) => this.searchJob(tenant, req, job, signal),
        (_job, r) => {
          missing += r.missingBlocks.length;
          merger.add(r);
          merger.metrics.completedJobs++;
          req.onProgress?.(() => merger.answer());
        },
        () => merger.enough(mostRecent),
        req.signal,
      );
    };
    const blocks = this.opts.blocks(tenant);
    await run(planSearchJobs(blocks, range, Date.now(), this.opts.search), blocks);
    if (missing > 0 && !merger.enough(mostRecent)) {
      // Blocks compacted away between two block-list polls: their data now sits in blocks this
      // frontend has not seen yet. Read the list again and search what is new in it.
      await this.opts.refreshBlocks();
      const fresh = this.opts.blocks(tenant).filter((b) => !planned.has(b.id));
      await run(
        planSearchJobs(fresh, range, Date.now(), this.opts.search).filter((j) => j.kind === 'blocks'),
        fresh,
      );
    }
    return merger.answer();
  }

  private async searchJob(
    tenant: string,
    req: SearchRequest,
    job: SearchJob,
    signal: AbortSignal,
  ): Promise<SearchResult & { readonly missingBlocks: readonly string[] }> {
    const body = searchJobJson({
      query: req.query,
      limit: req.limit,
      spss: req.spss,
      ...(req.startMs !== undefined ? { startMs: req.startMs } : {}),
      ...(req.endMs !== undefined ? { endMs: req.endMs } : {}),
      ...(req.minDurationNs !== undefined ? { minDurationNs: req.minDurationNs } : {}),
      ...(req.maxDurationNs !== undefined ? { maxDurationNs: req.maxDurationNs } : {}),
      maxResultBytes: req.maxResultBytes ?? 0,
      source: job.kind === 'recent' ? { kind: 'recent' } : { kind: 'blocks', blockIds: job.blockIds },
    });
    const r = searchResultOf(await this.ask('search', tenant, QUERIER_PATHS.search, body, signal));
    jobsRun.inc({ op: 'search' });
    if (r.missingBlocks.length > 0) {
      missingBlocks.inc(r.missingBlocks.length);
      this.opts.logger.warn({ tenant, blocks: r.missingBlocks }, 'a querier did not know blocks of a search job (compacted since the last block-list poll?)');
    }
    return r;
  }

  async metricsQuery(tenant: string, req: MetricsRequest): Promise<MetricsAnswer> {
    const intervalNs = BigInt(Math.max(0, Math.round(this.opts.metrics.intervalMs))) * 1_000_000n;
    const jobs = planMetricsJobs(req.range, intervalNs, splittableByTime(req.query));
    const maxSeries = req.maxSeries ?? 0;
    if (jobs.length === 1) {
      const a = await this.metricsJob(tenant, req, jobs[0]!, maxSeries, req.signal);
      return { ...a, metrics: { ...a.metrics, totalJobs: 1, completedJobs: 1 } };
    }
    const mapper = new IntervalMapper(alignRange(req.range));
    const opts = {
      timestampsMs: Array.from({ length: mapper.count }, (_, i) => mapper.timestampMs(i)),
      emptyValue: emptyIntervalValue(req.query),
      exemplarsPerSeries: exemplarsWanted(req.query, req.exemplars),
      maxSeries,
    };
    const parts: MetricsPart[] = [];
    const merged = (): MetricsAnswer => {
      const m = mergeMetricsParts(parts, opts);
      return { ...m, metrics: { ...m.metrics, totalJobs: jobs.length, completedJobs: parts.length } };
    };
    await this.runJobs(
      jobs,
      this.opts.metrics.concurrentJobs,
      (job, signal) => this.metricsJob(tenant, req, job, maxSeries, signal),
      (job, answer) => {
        parts.push({ offset: job.offset, answer });
        req.onProgress?.(merged);
      },
      () => false,
      req.signal,
    );
    return merged();
  }

  private async metricsJob(tenant: string, req: MetricsRequest, job: MetricsJob, maxSeries: number, signal: AbortSignal | undefined): Promise<MetricsAnswer> {
    const after = this.opts.metrics.queryBackendAfterMs;
    const backendOnly = after > 0 && job.alignedEndNs < BigInt(Date.now() - after) * 1_000_000n;
    const body = metricsJobJson({ query: req.query, range: job.range, exemplars: req.exemplars, maxSeries, sources: backendOnly ? 'backend' : 'all' });
    const a = metricsAnswerOf(await this.ask('metrics', tenant, QUERIER_PATHS.metrics, body, signal));
    jobsRun.inc({ op: 'metrics' });
    return a;
  }

  /** A request not split: one querier answers it (the next one if it cannot be reached). */
  private async whole(tenant: string, path: string, body: unknown, signal: AbortSignal | undefined): Promise<Answer> {
    try {
      const a = await this.send('whole', tenant, path, body, signal);
      forwarded.inc({ outcome: a.retried ? 'retried' : 'ok' });
      return a;
    } catch (err) {
      forwarded.inc({ outcome: 'failed' });
      throw err;
    }
  }

  private async wholeJson(tenant: string, path: string, body: unknown, signal: AbortSignal | undefined): Promise<unknown> {
    const a = await this.whole(tenant, path, body, signal);
    if (a.status === 200) return JSON.parse(a.body.toString('utf8')) as unknown;
    throw new FrontendError(a.status === 504 ? 504 : 500, `querier answered ${a.status} to ${path}: ${a.body.toString('utf8', 0, 500)}`);
  }

  async findTraceById(tenant: string, traceId: string, range: TimeRange, signal: AbortSignal): Promise<Uint8Array | null> {
    const qs = new URLSearchParams();
    if (range.startMs !== undefined) qs.set('startMs', String(range.startMs));
    if (range.endMs !== undefined) qs.set('endMs', String(range.endMs));
    const q = qs.size > 0 ? `?${qs.toString()}` : '';
    const a = await this.whole(tenant, `${QUERIER_PATHS.trace}/${traceId}${q}`, undefined, signal);
    if (a.status === 404) return null;
    if (a.status === 200) return new Uint8Array(a.body);
    throw new FrontendError(a.status === 504 ? 504 : 500, `querier answered ${a.status} to a trace lookup: ${a.body.toString('utf8', 0, 500)}`);
  }

  async tagNames(tenant: string, scopes: readonly TagScope[], req: TagRequest): Promise<TagScopeNames[]> {
    const body = tagsJobJson({
      scopes,
      ...(req.startMs !== undefined ? { startMs: req.startMs } : {}),
      ...(req.endMs !== undefined ? { endMs: req.endMs } : {}),
      limit: req.limit ?? 0,
      ...(req.query !== undefined ? { query: req.query } : {}),
    });
    return tagNamesOf(await this.wholeJson(tenant, QUERIER_PATHS.tags, body, req.signal));
  }

  async tagValues(tenant: string, tag: TagRef, req: TagRequest): Promise<TagValue[]> {
    const body = tagValuesJobJson({
      tag,
      ...(req.startMs !== undefined ? { startMs: req.startMs } : {}),
      ...(req.endMs !== undefined ? { endMs: req.endMs } : {}),
      limit: req.limit ?? 0,
      ...(req.query !== undefined ? { query: req.query } : {}),
    });
    return tagValuesOf(await this.wholeJson(tenant, QUERIER_PATHS.tagValues, body, req.signal));
  }
}
