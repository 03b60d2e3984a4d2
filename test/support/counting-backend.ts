// Counts the requests a Backend receives, by method, for the tenant-index tests and the block-list
// polling benchmark: the point of the index is fewer object-store requests per poll.
import type { Backend } from '../../src/backend/backend.js';

export type BackendCounts = Record<'read' | 'readRange' | 'write' | 'writeFile' | 'list' | 'delete', number>;

export interface CountingBackend extends Backend {
  readonly counts: BackendCounts;
  reset(): void;
  total(): number;
}

export function countingBackend(inner: Backend): CountingBackend {
  const counts: BackendCounts = { read: 0, readRange: 0, write: 0, writeFile: 0, list: 0, delete: 0 };
  return {
    counts,
    reset: () => {
      for (const k of Object.keys(counts) as (keyof BackendCounts)[]) counts[k] = 0;
    },
    total: () => Object.values(counts).reduce((a, b) => a + b, 0),
    read: (p) => {
      counts.read++;
      return inner.read(p);
    },
    readRange: (p, o, l) => {
      counts.readRange++;
      return inner.readRange(p, o, l);
    },
    write: (p, d) => {
      counts.write++;
      return inner.write(p, d);
    },
    writeFile: (p, f) => {
      counts.writeFile++;
      return inner.writeFile(p, f);
    },
    list: (p) => {
      counts.list++;
      return inner.list(p);
    },
    delete: (p) => {
      counts.delete++;
      return inner.delete(p);
    },
    localPath: (p) => inner.localPath(p),
  };
}
