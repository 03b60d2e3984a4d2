import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { PushBatch, SpanEntry } from '../model/batch.js';
import { ACCEPTED_ALL, PushError, type Pusher, type PushResult } from '../model/pusher.js';
import type { Backend } from '../backend/backend.js';
import { openWal, type Wal } from '../wal/wal.js';
import { isTransientIoError, retryableWriteFailure } from '../wal/io-errors.js';
import type { BlockMeta } from '../block/meta.js';
import { decodeExportRequest } from '../otlp/decode-request.js';
import { encodeTrace } from '../otlp/trace-encode.js';
import type { Block, BlockSource } from '../block/block.js';
import { RecentBlock } from './recent-block.js';
import { discardedSpans } from '../distributor/metrics.js';
import { HeadBlock, type HeadRecord } from './head-block.js';
import { inProcessBuilder, type BlockBuilder } from './block-builder.js';
import { LiveTraces } from './live-traces.js';
import * as m from './metrics.js';

/** Cut head blocks allowed to wait for the block builder before pushes are refused. */
const MAX_QUEUED_BLOCKS = 3;

export interface IngesterLimits {
  /** Tempo's `max_bytes_per_trace`; 0 = unlimited. */
  readonly maxBytesPerTrace: number;
  /** Tempo's `max_traces_per_user` (live traces); 0 = unlimited. */
  readonly maxLiveTraces: number;
}

export interface IngesterOptions {
  readonly walDir: string;
  readonly backend: Backend;
  /** A trace with no new spans for this long is complete. Tempo's `trace_idle_period`. */
  readonly traceIdlePeriodMs: number;
  /** The head block is cut after this long. Tempo's `max_block_duration`. */
  readonly maxBlockDurationMs: number;
  /** The head block is cut at this size. Tempo's `max_block_bytes`. */
  readonly maxBlockBytes: number;
  /**
   * Memory budget for per-trace bookkeeping (the head block's index); past it the head block is cut
   * early. rubato's `ingester.max_live_traces_bytes`.
   */
  readonly maxLiveBytes: number;
  readonly limits: (tenant: string) => IngesterLimits;
  /** How often idle traces and head blocks are checked (default 1 s). */
  readonly sweepPeriodMs?: number;
  /** Turn fsync off (tests and benches of other parts only). Default true. */
  readonly fsync?: boolean;
  readonly logger: Logger;
  /** Called after a block is in the backend, so readers can see it at once. */
  readonly onBlockFlushed?: (tenant: string, meta: BlockMeta) => void;
  /** How cut head blocks become backend blocks; default in this process (see block-builder.ts). */
  readonly blockBuilder?: BlockBuilder;
  /**
   * Tempo's `flush_all_on_shutdown` (rubato's default true): on stop, write every head block to the backend.
   * Without it, stop only finishes the blocks already being written; the WAL keeps the rest, which
   * the next start replays, so a restart is quick and loses nothing.
   */
  readonly flushAllOnShutdown?: boolean;
  /**
   * Tempo's `complete_block_timeout`: a head block stays readable here this long after it is in the
   * backend. Distributed mode needs it (queriers see a new block only at their next block-list poll);
   * in one process the block list learns of it at once, so the default is 0.
   */
  readonly completeBlockTimeoutMs?: number;
}

/**
 * The ingester: makes pushes durable (WAL, acknowledged after fsync), appends each push's spans,
 * grouped per trace, to the tenant's head block file, tracks which traces are live, and writes head
 * blocks to the backend as Parquet blocks. A WAL segment is removed only once every head block holding
 * its data is in the backend.
 */
export class Ingester implements Pusher, BlockSource {
  private wal: Wal | null = null;
  private readonly live = new Map<string, LiveTraces>();
  private readonly heads = new Map<string, HeadBlock>();
  /** Cut head blocks being written to the backend; still readable until done. */
  private readonly flushing = new Set<HeadBlock>();
  /** Head blocks already in the backend, kept readable until `until` (completeBlockTimeoutMs). */
  private readonly completed: { head: HeadBlock; until: number }[] = [];
  /** Segments of appends that are durable but not yet in a head block. */
  private readonly pending = new Map<number, number>();
  private readonly headDir: string;
  private nextHeadId = 1;
  private isReady = false;
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;
  private flushChain: Promise<void> = Promise.resolve();

  private readonly build: BlockBuilder;

  constructor(private readonly opts: IngesterOptions) {
    this.headDir = join(opts.walDir, 'head');
    this.build = opts.blockBuilder ?? inProcessBuilder(opts.backend);
  }

  ready(): boolean {
    return this.isReady;
  }

  /** Opens the WAL, replays it into head blocks, then starts the sweep loop. */
  async start(): Promise<void> {
    const { logger } = this.opts;
    // Head files are a cache of WAL data: after a restart the WAL replay rebuilds them.
    rmSync(this.headDir, { recursive: true, force: true });
    mkdirSync(this.headDir, { recursive: true });
    const walDir = join(this.opts.walDir, 'segments');
    mkdirSync(walDir, { recursive: true });
    this.wal = await openWal({ dir: walDir, fsync: this.opts.fsync ?? true, logger });
    const began = Date.now();
    let records = 0;
    let badRecords = 0;
    const stats = await this.wal.replay((tenant, payload, segment) => {
      records++;
      try {
        // The payload is a view into a reused read buffer; the head block copies what it keeps.
        const batch = decodeExportRequest(payload, tenant);
        // Replayed traces are not tracked as live: they were counted when first received, and
        // tracking hundreds of thousands of them at once would cost memory for nothing.
        this.append(tenant, batch.spans, segment, Date.now(), false);
      } catch (err) {
        // A full disk while rebuilding head files must stop the start, not drop the record as undecodable.
        if (isTransientIoError(err)) throw err;
        badRecords++;
        m.replayErrors.inc({ tenant });
        logger.warn({ err, segment }, 'skipping undecodable WAL record');
      }
    });
    m.walReplayed.inc(records);
    m.walCorrupt.inc(stats.truncatedBytes);
    m.walSkipped.inc(stats.skippedStretches);
    if (stats.skippedStretches > 0) m.replayErrors.inc({ tenant: '' }, stats.skippedStretches);
    m.walSkippedBytes.inc(stats.skippedBytes);
    logger.info(
      {
        segments: stats.segments,
        records,
        bytes: stats.bytes,
        truncatedBytes: stats.truncatedBytes,
        skippedStretches: stats.skippedStretches,
        skippedBytes: stats.skippedBytes,
        badRecords,
        ms: Date.now() - began,
      },
      'WAL replay done',
    );
    this.isReady = true;
    const period = this.opts.sweepPeriodMs ?? 1000;
    this.timer = setInterval(() => this.sweep(Date.now()), period);
    this.timer.unref();
  }

  async push(batch: PushBatch): Promise<PushResult> {
    if (!this.isReady || this.wal === null) throw new PushError('unavailable', 'ingester is not ready: the WAL is being replayed');
    if (this.stopping) throw new PushError('unavailable', 'ingester is shutting down');
    if (this.flushing.size > MAX_QUEUED_BLOCKS) {
      // Blocks are being built slower than data arrives: refuse (clients retry) rather than let head
      // blocks and the WAL pile up on disk without bound.
      m.backpressure.inc();
      throw new PushError('rate_limited', `ingester is ${this.flushing.size} head blocks behind writing blocks; retry later`);
    }
    const { tenant } = batch;
    const { accepted, refused } = this.applyLimits(tenant, batch.spans);
    if (accepted.length === 0) return ACCEPTED_ALL;
    const payload = accepted.length === batch.spans.length ? batch.payload : encodeTrace(accepted);
    const wal = this.wal;
    const segment = wal.stats().currentSegment;
    this.pending.set(segment, (this.pending.get(segment) ?? 0) + 1);
    try {
      const landed = await wal.append(tenant, payload);
      this.append(tenant, accepted, landed, Date.now());
    } catch (err) {
      // A full disk (WAL or head block file) is answered 503/UNAVAILABLE so clients retry, not 500.
      throw retryableWriteFailure(err) ?? err;
    } finally {
      const left = (this.pending.get(segment) ?? 1) - 1;
      if (left === 0) this.pending.delete(segment);
      else this.pending.set(segment, left);
    }
    m.bytesReceived.inc({ tenant, data_type: 'trace' }, payload.length);
    return refused;
  }

  /**
   * Recent data as blocks for the querier (BlockSource): the tenant's head blocks not yet in the
   * backend, as one RecentBlock, unless none holds a span in [startMs, endMs].
   */
  async blocks(tenant: string, range: { startMs?: number; endMs?: number } = {}): Promise<Block[]> {
    const from = (range.startMs ?? -Infinity) * 1e6;
    const to = (range.endMs ?? Infinity) * 1e6;
    const heads = this.headsOf(tenant).filter((h) => h.traceCount > 0 && h.endNs >= from && h.startNs <= to);
    return heads.length === 0 ? [] : [new RecentBlock(tenant, heads)];
  }

  /** Writes all head blocks to the backend now. */
  flush(): Promise<void> {
    for (const tenant of [...this.heads.keys()]) this.cutHead(tenant);
    return this.flushChain;
  }

  /** Stops taking pushes, writes head blocks to the backend (all of them with flushAllOnShutdown) and closes the WAL. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.wal === null) return;
    if (this.opts.flushAllOnShutdown === true) await this.flush();
    else await this.flushChain;
    await this.wal.close();
    this.wal = null;
    for (const c of this.completed.splice(0)) c.head.discard();
  }

  /** The tenant's head blocks, newest first: the current one, then those being flushed. */
  private headsOf(tenant: string): HeadBlock[] {
    const heads = [...this.completed.map((c) => c.head), ...this.flushing].filter((h) => h.tenant === tenant).reverse();
    const head = this.heads.get(tenant);
    if (head !== undefined) heads.unshift(head);
    return heads;
  }

  /** Splits a push into what the tenant's limits accept and a partial-success answer for the rest. */
  private applyLimits(tenant: string, spans: SpanEntry[]): { accepted: SpanEntry[]; refused: PushResult } {
    const { maxBytesPerTrace, maxLiveTraces } = this.opts.limits(tenant);
    if (maxBytesPerTrace <= 0 && maxLiveTraces <= 0) return { accepted: spans, refused: ACCEPTED_ALL };
    const live = this.liveFor(tenant);
    let traces = live.size;
    const added = new Map<string, number>();
    const out: SpanEntry[] = [];
    let tooLarge = 0;
    let tooMany = 0;
    for (const s of spans) {
      const existing = live.get(s.traceId);
      const before = added.get(s.traceId);
      if (existing === undefined && before === undefined) {
        if (maxLiveTraces > 0 && traces >= maxLiveTraces) {
          tooMany++;
          continue;
        }
        traces++;
      }
      const size = (existing?.bytes ?? 0) + (before ?? 0) + s.span.length;
      if (maxBytesPerTrace > 0 && size > maxBytesPerTrace) {
        tooLarge++;
        continue;
      }
      added.set(s.traceId, (before ?? 0) + s.span.length);
      out.push(s);
    }
    if (tooLarge > 0) discardedSpans.inc({ reason: 'trace_too_large', tenant }, tooLarge);
    if (tooMany > 0) discardedSpans.inc({ reason: 'live_traces_exceeded', tenant }, tooMany);
    if (out.length === 0 && spans.length > 0) {
      if (tooMany > 0) {
        throw new PushError(
          'rate_limited',
          `LIVE_TRACES_EXCEEDED: max live traces per tenant exceeded: per-user traces limit (local: ${maxLiveTraces}) exceeded for tenant ${tenant}`,
        );
      }
      throw new PushError('too_large', `TRACE_TOO_LARGE: max size of trace (${maxBytesPerTrace}) exceeded while adding spans for tenant ${tenant}`);
    }
    const reasons: string[] = [];
    if (tooLarge > 0) reasons.push(`${tooLarge} spans refused: TRACE_TOO_LARGE: max size of trace (${maxBytesPerTrace}) exceeded`);
    if (tooMany > 0) reasons.push(`${tooMany} spans refused: LIVE_TRACES_EXCEEDED: per-user traces limit (local: ${maxLiveTraces}) exceeded`);
    return { accepted: out, refused: { rejectedSpans: tooLarge + tooMany, message: reasons.join('; '), accepted: out } };
  }

  private liveFor(tenant: string): LiveTraces {
    let live = this.live.get(tenant);
    if (live === undefined) {
      live = new LiveTraces();
      this.live.set(tenant, live);
    }
    return live;
  }

  private headFor(tenant: string, nowMs: number): HeadBlock {
    let head = this.heads.get(tenant);
    if (head === undefined) {
      const dir = join(this.headDir, tenant);
      mkdirSync(dir, { recursive: true });
      head = new HeadBlock(dir, tenant, this.nextHeadId++, nowMs);
      this.heads.set(tenant, head);
    }
    return head;
  }

  /** Groups a push's spans per trace and appends them to the head block with one write. */
  private append(tenant: string, spans: readonly SpanEntry[], segment: number, nowMs: number, trackLive = true): void {
    const groups = new Map<string, SpanEntry[]>();
    for (const s of spans) {
      const g = groups.get(s.traceId);
      if (g === undefined) groups.set(s.traceId, [s]);
      else g.push(s);
    }
    const live = this.liveFor(tenant);
    const records: HeadRecord[] = [];
    let created = 0;
    for (const [traceId, group] of groups) {
      let startNs = Infinity;
      let endNs = 0;
      for (const s of group) {
        if (s.startNs < startNs) startNs = s.startNs;
        if (s.endNs > endNs) endNs = s.endNs;
      }
      const trace = encodeTrace(group);
      records.push({ traceId, trace, startNs, endNs });
      if (trackLive && live.touch(traceId, trace.length, nowMs)) created++;
    }
    this.headFor(tenant, nowMs).appendMany(records, segment);
    if (created > 0) m.tracesCreated.inc({ tenant }, created);
  }

  private sweep(nowMs: number): void {
    try {
      while (this.completed.length > 0 && this.completed[0]!.until <= nowMs) this.completed.shift()!.head.discard();
      for (const live of this.live.values()) live.cutIdle(nowMs - this.opts.traceIdlePeriodMs);
      let indexBytes = 0;
      for (const h of this.heads.values()) indexBytes += h.indexBytes;
      for (const [tenant, head] of this.heads) {
        const full = head.bytes >= this.opts.maxBlockBytes;
        const old = head.traceCount > 0 && nowMs - head.createdMs >= this.opts.maxBlockDurationMs;
        // Past the memory budget the largest head block goes first.
        const overBudget = indexBytes > this.opts.maxLiveBytes && head.indexBytes * this.heads.size >= indexBytes;
        if (full || old || overBudget) {
          if (overBudget) m.budgetCuts.inc();
          indexBytes -= head.indexBytes;
          this.cutHead(tenant);
        }
      }
      this.updateGauges();
    } catch (err) {
      this.opts.logger.error({ err }, 'ingester sweep failed');
    }
  }

  private updateGauges(): void {
    for (const [tenant, live] of this.live) m.liveTracesGauge.set({ tenant }, live.size);
    let head = 0;
    let index = 0;
    for (const h of [...this.heads.values(), ...this.flushing]) {
      head += h.bytes;
      index += h.indexBytes;
    }
    m.headBlockBytes.set(head);
    m.liveTraceBytes.set(index);
    if (this.wal !== null) {
      const s = this.wal.stats();
      m.walBytes.set(s.bytes);
      m.walSegments.set(s.segments);
    }
  }

  /** Takes the tenant's head block out of service and queues it for writing to the backend. */
  private cutHead(tenant: string): void {
    const head = this.heads.get(tenant);
    if (head === undefined) return;
    this.heads.delete(tenant);
    if (head.traceCount === 0) {
      head.discard();
      return;
    }
    this.flushing.add(head);
    this.flushChain = this.flushChain.then(() => this.flushHead(head));
  }

  private async flushHead(head: HeadBlock): Promise<void> {
    const { logger } = this.opts;
    const stopTimer = m.flushDuration.startTimer();
    // Rotate the WAL so the segments this block covers can be removed once it is written.
    await this.wal?.cut();
    for (let attempt = 1; ; attempt++) {
      try {
        const meta = await this.build({ tenant: head.tenant, headPath: head.filePath, indexPath: head.writeSortedIndex() });
        m.blocksFlushed.inc({ tenant: head.tenant });
        m.flushedBytes.inc(meta.size);
        logger.info({ tenant: head.tenant, block: meta.blockID, traces: meta.totalObjects, spans: meta.totalSpans, bytes: meta.size }, 'head block flushed');
        this.opts.onBlockFlushed?.(head.tenant, meta);
        break;
      } catch (err) {
        m.failedFlushes.inc({ tenant: head.tenant });
        logger.error({ err, tenant: head.tenant, attempt }, 'head block flush failed; retrying');
        if (this.stopping && attempt >= 3) {
          // Keep the WAL: the data is replayed into a new block on the next start.
          this.flushing.delete(head);
          head.discard();
          stopTimer();
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** attempt)));
      }
    }
    this.flushing.delete(head);
    const keep = this.opts.completeBlockTimeoutMs ?? 0;
    if (keep > 0 && !this.stopping) this.completed.push({ head, until: Date.now() + keep });
    else head.discard();
    stopTimer();
    await this.removeFlushedWal();
  }

  /** Removes WAL segments that no head block or in-flight push still needs. */
  private async removeFlushedWal(): Promise<void> {
    const wal = this.wal;
    if (wal === null) return;
    let keepFrom = wal.stats().currentSegment;
    for (const h of this.heads.values()) keepFrom = Math.min(keepFrom, h.minSegment);
    for (const h of this.flushing) keepFrom = Math.min(keepFrom, h.minSegment);
    for (const seg of this.pending.keys()) keepFrom = Math.min(keepFrom, seg);
    await wal.removeBefore(keepFrom);
  }
}
