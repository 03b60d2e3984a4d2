/**
 * Entry of the long-lived child process that builds blocks from cut head blocks (see
 * childProcessBuilder): loads everything it will need up front (so files replaced under a running
 * server do not matter), says it is ready, then builds one block per request and answers with its
 * meta, closing DuckDB after each so its memory goes back to the system.
 */
import { createLocalBackend } from '../backend/local.js';
import { duckdbApi, releaseDuckDB } from '../block/duckdb.js';
import { runBuildJob, type BuilderMessage, type BuilderRequest } from './block-builder.js';

// The native library and its JS wrapper, loaded now rather than at the first block.
await duckdbApi();
await releaseDuckDB();

let chain = Promise.resolve();
process.on('message', (req: BuilderRequest) => {
  chain = chain.then(async () => {
    let answer: BuilderMessage;
    try {
      answer = { id: req.id, ok: true, meta: await runBuildJob(req.job, createLocalBackend(req.root)) };
    } catch (err) {
      answer = { id: req.id, ok: false, message: err instanceof Error ? (err.stack ?? err.message) : String(err) };
    }
    await releaseDuckDB();
    await new Promise<void>((resolve) => process.send?.(answer, () => resolve()));
  });
});
// The server went away: nothing left to build for.
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true } satisfies BuilderMessage);
