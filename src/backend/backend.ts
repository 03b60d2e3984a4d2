/**
 * Storage backend seam: a small object-store interface so `local` and (later) `s3` are interchangeable.
 * Paths are '/'-separated keys relative to the backend root, e.g. `single-tenant/<blockID>/meta.json`.
 */
export interface Backend {
  /** Whole object, or null when it does not exist. */
  read(path: string): Promise<Buffer | null>;
  /** `length` bytes from `offset`; throws when the object does not exist. */
  readRange(path: string, offset: number, length: number): Promise<Buffer>;
  /** Writes atomically: readers see the old object or the whole new one, never a part. */
  write(path: string, data: Uint8Array): Promise<void>;
  /**
   * Stores the local file `localFile` as the object, atomically like `write`, without reading it into
   * memory. The local file is consumed: it is moved (a rename when it is on the backend's filesystem)
   * or uploaded and then removed; on failure it may or may not still exist.
   */
  writeFile(path: string, localFile: string): Promise<void>;
  /** Names of the immediate children (objects and "folders") under a prefix ('' for the root). */
  list(prefix: string): Promise<string[]>;
  /** Deletes an object, or a whole "folder" when the path is a prefix. Missing paths are not an error. */
  delete(path: string): Promise<void>;
  /** A local filesystem path for the object when the backend has one (lets DuckDB read Parquet directly). */
  localPath(path: string): string | null;
}
