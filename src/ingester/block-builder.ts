import { fork } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../backend/backend.js';
import type { BackendSpec } from '../backend/create.js';
import type { BlockMeta } from '../block/meta.js';
import type { TraceRecord } from '../model/trace-record.js';
import { writeBlock, type WriteBlockOptions } from '../block/writer.js';
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
export function inProcessBuilder(backend: Backend, write: WriteBlockOptions = {}): BlockBuilder {
  return (job) => writeBlock(backend, job.tenant, headRecords(job, SLICE_MS), write);
}

/** What the child process answers. */
type BuildAnswer = { ok: true; meta: BlockMeta } | { ok: false; message: string };

/**
 * Builds each block in a short-lived child process (same node flags) writing to the backend of
 * `storage`. Building a block is the heaviest thing rubato does — decoding every span and running
 * DuckDB's Parquet writer — and in a child its memory is returned to the system the moment the
 * block is done, the server's event loop keeps acknowledging pushes, and a second core helps.
 *
 * The children run from a private copy of the server's compiled code, taken when the server starts:
 * files replaced under a running server (an upgrade in place) then cannot break its flushes or mix
 * two versions in one process.
 */
export function childProcessBuilder(storage: BackendSpec, write: WriteBlockOptions = {}, timeoutMs = 0): BlockBuilder {
  const entry = snapshotOfCode();
  return (job) =>
    new Promise<BlockMeta>((resolve, reject) => {
      const child = fork(entry, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      let answer: BuildAnswer | null = null;
      let timedOut = false;
      // Tempo's flush_op_timeout: a build that hangs is ended, and the flush retried.
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              timedOut = true;
              child.kill('SIGKILL');
            }, timeoutMs)
          : null;
      child.once('message', (m: BuildAnswer) => {
        answer = m;
      });
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        if (timer !== null) clearTimeout(timer);
        if (answer?.ok === true) resolve(answer.meta);
        else if (timedOut) reject(new Error(`block build took longer than ingester.flush_op_timeout (${timeoutMs} ms)`));
        else reject(new Error(answer?.ok === false ? answer.message : `block builder exited with ${code ?? signal}`));
      });
      child.send({ job, storage, write } satisfies BuildRequest);
    });
}

/**
 * Copies the compiled product code (this process's dist/src, without tests and source maps) to a
 * temporary folder removed at exit, beside a package.json and a link to the dependencies; returns the
 * builder entry in the copy.
 */
function snapshotOfCode(): string {
  const src = fileURLToPath(new URL('../', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'rubato-code-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  cpSync(src, join(dir, 'src'), {
    recursive: true,
    filter: (from) => !/\.test\.js$|\.map$|\.d\.ts$/.test(from),
  });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  const modules = findNodeModules(src);
  if (modules !== null) symlinkSync(modules, join(dir, 'node_modules'), 'dir');
  return join(dir, 'src', 'ingester', 'block-builder-process.js');
}

/** The node_modules folder the code at `from` resolves its dependencies in. */
function findNodeModules(from: string): string | null {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

/** What the server sends the child. */
export interface BuildRequest {
  readonly job: FlushJob;
  readonly storage: BackendSpec;
  readonly write: WriteBlockOptions;
}

/** The child side: builds one block and answers. */
export async function runBuildJob(job: FlushJob, backend: Backend, write: WriteBlockOptions): Promise<BlockMeta> {
  // Alone in its process: no need to yield.
  return writeBlock(backend, job.tenant, headRecords(job, Infinity), write);
}
