/**
 * Entry of the child process that builds one block from a cut head block (see childProcessBuilder):
 * receives the job over IPC, writes the block, answers with its meta, exits.
 */
import { createBackend } from '../backend/create.js';
import { runBuildJob, type BuildRequest } from './block-builder.js';

process.once('message', (msg: BuildRequest) => {
  runBuildJob(msg.job, createBackend(msg.storage), msg.write).then(
    (meta) => process.send?.({ ok: true, meta }, () => process.exit(0)),
    (err: unknown) => process.send?.({ ok: false, message: err instanceof Error ? (err.stack ?? err.message) : String(err) }, () => process.exit(1)),
  );
});
