import { fork } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import type { Backend } from '../backend/backend.js';
import type { BackendSpec } from '../backend/create.js';
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

/** Writes a cut head block to the backend; resolves with the new block's meta. */
export type BlockBuilder = (job: FlushJob) => Promise<BlockMeta>;

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

/** What the child process answers. */
type BuildAnswer = { ok: true; meta: BlockMeta } | { ok: false; message: string };

/**
 * Builds each block in a short-lived child process (same node flags) writing to a local backend at
 * `root`. Building a block is the heaviest thing rubato does — decoding every span and running
 * DuckDB's Parquet writer — and in a child its memory is returned to the system the moment the
 * block is done, the server's event loop keeps acknowledging pushes, and a second core helps.
 */
export function childProcessBuilder(storage: BackendSpec): BlockBuilder {
  return (job) =>
    new Promise<BlockMeta>((resolve, reject) => {
      const child = fork(new URL('./block-builder-process.js', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      let answer: BuildAnswer | null = null;
      child.once('message', (m: BuildAnswer) => {
        answer = m;
      });
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        if (answer?.ok === true) resolve(answer.meta);
        else reject(new Error(answer?.ok === false ? answer.message : `block builder exited with ${code ?? signal}`));
      });
      child.send({ job, storage });
    });
}

/** The child side: builds one block and answers. */
export async function runBuildJob(job: FlushJob, backend: Backend): Promise<BlockMeta> {
  // Alone in its process: no need to yield.
  return writeBlock(backend, job.tenant, headRecords(job, Infinity));
}
