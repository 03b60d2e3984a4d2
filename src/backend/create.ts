import type { Backend } from './backend.js';
import { createLocalBackend } from './local.js';
import { createS3Backend, type S3BackendOptions } from './s3.js';

/**
 * Which backend to open, as plain data: the config picks it, and the block-builder child process
 * receives it over IPC to open the same storage.
 */
export type BackendSpec = { kind: 'local'; path: string } | { kind: 's3'; s3: S3BackendOptions };

export function createBackend(spec: BackendSpec): Backend {
  return spec.kind === 'local' ? createLocalBackend(spec.path) : createS3Backend(spec.s3);
}
