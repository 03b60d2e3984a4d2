import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

/**
 * One DuckDB instance for the process, created on first use: the native library is loaded lazily so a
 * server that never writes or reads a block keeps its idle memory low.
 */

export type DuckDBApi = typeof import('@duckdb/node-api');

export interface DuckDBOptions {
  /** DuckDB buffer pool limit; default '64MB' (the block COPY needs about that; 32MB fails). */
  memoryLimit?: string;
  /** Worker threads; default 1: the order-preserving Parquet COPY needs about a row group of memory per thread, and with 2 it ran out of a 128MB limit and was slower. */
  threads?: number;
  /** Where DuckDB spills; default `<os tmp>/rubato-duckdb-<pid>`. */
  tempDirectory?: string;
}

let options: DuckDBOptions = {};
let instance: Promise<{ api: DuckDBApi; db: DuckDBInstance }> | null = null;

/** Sets instance options; only effective before the first use. */
export function configureDuckDB(opts: DuckDBOptions): void {
  options = { ...opts };
}

export async function duckdbApi(): Promise<DuckDBApi> {
  return (await shared()).api;
}

/** A new connection to the shared instance (connections are cheap; one per concurrent user). */
export async function duckdbConnect(): Promise<DuckDBConnection> {
  return (await shared()).db.connect();
}

function shared(): Promise<{ api: DuckDBApi; db: DuckDBInstance }> {
  instance ??= (async () => {
    const api = await import('@duckdb/node-api');
    const temp = options.tempDirectory ?? join(tmpdir(), `rubato-duckdb-${process.pid}`);
    // DuckDB creates the spill folder on first use and leaves it behind; ours goes with the process.
    if (options.tempDirectory === undefined) process.once('exit', () => rmSync(temp, { recursive: true, force: true }));
    const db = await api.DuckDBInstance.create(':memory:', {
      memory_limit: options.memoryLimit ?? '64MB',
      threads: String(options.threads ?? 1),
      temp_directory: temp,
      enable_external_access: 'true',
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
      // DuckDB otherwise keeps the bytes of every file it reads in its buffer pool, up to the memory
      // limit: +70MB RSS for one block write (the staging file) and again for readers. Blocks are local
      // files, so the OS page cache already holds them.
      enable_external_file_cache: 'false',
    });
    const conn = await db.connect();
    try {
      // Footers of block files are read on every lookup; caching them saves the footer parse.
      await conn.run('SET GLOBAL parquet_metadata_cache = true');
    } finally {
      conn.closeSync();
    }
    return { api, db };
  })();
  return instance;
}

/** Quotes a string for use as a SQL literal (paths in COPY / read_parquet cannot be parameters). */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

const idle: DuckDBConnection[] = [];
const MAX_IDLE = 4;

/**
 * Runs `fn` on a pooled connection (one query at a time per connection). When `signal` aborts, the
 * running query is interrupted and `fn` rejects with the signal's reason.
 */
export async function withDuckDB<T>(fn: (conn: DuckDBConnection) => Promise<T>, signal?: AbortSignal): Promise<T> {
  signal?.throwIfAborted();
  const conn = idle.pop() ?? (await duckdbConnect());
  let ok = false;
  const stop = interruptOnAbort(conn, signal);
  try {
    const out = await fn(conn);
    ok = true;
    return out;
  } catch (err) {
    throw signal?.aborted === true ? signal.reason : err;
  } finally {
    stop();
    if (ok && idle.length < MAX_IDLE && signal?.aborted !== true) idle.push(conn);
    else conn.closeSync();
  }
}

/** Interrupts the connection's running query when `signal` aborts; returns the un-listen function. */
export function interruptOnAbort(conn: DuckDBConnection, signal: AbortSignal | undefined): () => void {
  if (signal === undefined) return () => undefined;
  const onAbort = (): void => conn.interrupt();
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/** The bytes of a BLOB value read from a result. */
export function blobBytes(v: unknown): Uint8Array {
  if (typeof v === 'object' && v !== null && 'bytes' in v && (v as { bytes: unknown }).bytes instanceof Uint8Array) {
    return (v as { bytes: Uint8Array }).bytes;
  }
  throw new Error('expected a BLOB value');
}
