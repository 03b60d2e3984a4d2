/**
 * What block queries run DuckDB on: a local Parquet file, plus a hook that makes the bytes a query
 * will read present first. A local block's file is whole and the hook does nothing; a block in object
 * storage is a sparse cache file whose hook fetches just the footer-described ranges the query needs
 * (remote-file.ts). Query code calls `prepare` before each statement and releases after it.
 */
export interface ParquetSource {
  readonly path: string;
  /**
   * Makes present every byte that `sql` (a statement over this file) may read. `traceIds`, when
   * given, are the only trace IDs the statement can match (its WHERE pins trace_id to them), so only
   * the row groups whose statistics may hold them are needed. The returned release lets the cache
   * evict the file again; call it when the statement's results are read.
   */
  prepare(sql: string, traceIds?: readonly string[]): Promise<() => void>;
}

const noop = (): void => undefined;

/** A whole local file: nothing to prepare. */
export function localSource(path: string): ParquetSource {
  return { path, prepare: () => Promise.resolve(noop) };
}

/** Accepts a plain path where callers (tests, tools) have one. */
export function asSource(file: string | ParquetSource): ParquetSource {
  return typeof file === 'string' ? localSource(file) : file;
}
