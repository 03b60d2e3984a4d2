import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import type { Backend } from '../backend/backend.js';
import type { BlockMeta } from '../block/meta.js';
import type { TraceRecord } from '../model/trace-record.js';
import { writeBlock } from '../block/writer.js';
import { mergeTraces } from '../otlp/trace-encode.js';
import { readTraceChain, SORTED_ENTRY } from './head-block.js';

/** A cut head block to turn into a backend block: its file and its sorted index file. */
export interface FlushJob {
  readonly tenant: string;
  readonly headPath: string;
  readonly indexPath: string;
}

/** Writes a cut head block to the backend; resolves with the new block's meta. `close` ends its worker, if any. */
export type BlockBuilder = ((job: FlushJob) => Promise<BlockMeta>) & { close?(): void };

/** Longest stretch an in-process build runs before letting other work (pushes) in. */
const SLICE_MS = 5;

/** The head block's traces in ID order, each merged (which also drops spans a client sent twice). */
async function* headRecords(job: FlushJob, yieldEvery: number): AsyncGenerator<TraceRecord> {
  const index = readFileSync(job.indexPath);
  const fd = openSync(job.headPath, 'r');
  try {
    let slice = performance.now();
    for (let at = 0; at < index.length; at += SORTED_ENTRY) {
      const traceId = index.toString('hex', at, at + 16);
      yield { traceId, trace: mergeTraces(readTraceChain(fd, index.readDoubleLE(at + 16))) };
      if (performance.now() - slice > yieldEvery) {
        await new Promise((r) => setImmediate(r));
        slice = performance.now();
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Builds blocks in this process, yielding to the event loop every few ms. */
export function inProcessBuilder(backend: Backend): BlockBuilder {
  return (job) => writeBlock(backend, job.tenant, headRecords(job, SLICE_MS));
}

/** What the child process says: ready once its code is loaded, then one answer per job. */
export type BuilderMessage = { ready: true } | { id: number; ok: true; meta: BlockMeta } | { id: number; ok: false; message: string };

/** What the server sends the child. */
export interface BuilderRequest {
  readonly id: number;
  readonly job: FlushJob;
  readonly root: string;
}

/**
 * Builds blocks in one long-lived child process (same node flags) writing to a local backend at
 * `root`. Building a block is the heaviest thing rubato does — decoding every span and running
 * DuckDB's Parquet writer — and in a child the server's event loop keeps acknowledging pushes and a
 * second core helps. The child loads all its code (DuckDB's native library included) when it starts,
 * at server start, so files replaced under a running server (an upgrade) cannot break later flushes;
 * after each block it closes DuckDB, which returns DuckDB's memory to the system. A child that dies
 * is replaced at the next job.
 */
export function childProcessBuilder(root: string): BlockBuilder {
  let child: ChildProcess | null = null;
  let ready: Promise<void> | null = null;
  let nextId = 1;
  const waiting = new Map<number, { resolve(m: BlockMeta): void; reject(e: Error): void }>();

  const start = (): Promise<void> => {
    const c = fork(new URL('./block-builder-process.js', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child = c;
    ready = new Promise<void>((resolve, reject) => {
      c.on('message', (m: BuilderMessage) => {
        if ('ready' in m) {
          resolve();
          return;
        }
        const w = waiting.get(m.id);
        waiting.delete(m.id);
        if (m.ok) w?.resolve(m.meta);
        else w?.reject(new Error(m.message));
      });
      c.once('error', reject);
      c.once('exit', (code, signal) => {
        const err = new Error(`block builder exited with ${code ?? signal}`);
        reject(err);
        for (const w of waiting.values()) w.reject(err);
        waiting.clear();
        if (child === c) {
          child = null;
          ready = null;
        }
      });
    });
    // The same promise is awaited by every build; this only keeps an early death from going unhandled.
    ready.catch(() => undefined);
    return ready;
  };
  // Started now, with the files the server itself was started from.
  void start();

  const build = async (job: FlushJob): Promise<BlockMeta> => {
    if (ready === null) void start();
    await ready;
    const c = child;
    if (c === null) throw new Error('block builder is not running');
    const id = nextId++;
    return new Promise<BlockMeta>((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      c.send({ id, job, root } satisfies BuilderRequest);
    });
  };
  return Object.assign(build, {
    close(): void {
      child?.kill();
      child = null;
      ready = null;
    },
  });
}

/** The child side: builds one block. */
export async function runBuildJob(job: FlushJob, backend: Backend): Promise<BlockMeta> {
  // Alone in its process: no need to yield.
  return writeBlock(backend, job.tenant, headRecords(job, Infinity));
}
