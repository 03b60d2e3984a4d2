import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Backend } from './backend.js';

/**
 * A Backend over a local directory. Writes go to a temp file in the target's own folder, are fsynced and
 * renamed into place, and the folder is fsynced so the rename itself survives a crash.
 */
export function createLocalBackend(root: string): Backend {
  const base = resolve(root);

  function pathFor(key: string): string {
    const p = resolve(base, ...key.split('/').filter((s) => s !== ''));
    // A key must never escape the root (tenant IDs come from request headers).
    if (p !== base && !p.startsWith(base + sep)) throw new Error(`backend path escapes root: ${key}`);
    return p;
  }

  return {
    async read(key) {
      try {
        return await readFile(pathFor(key));
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    },

    async readRange(key, offset, length) {
      const fh = await open(pathFor(key), 'r');
      try {
        const buf = Buffer.allocUnsafe(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return done === length ? buf : buf.subarray(0, done);
      } finally {
        await fh.close();
      }
    },

    async write(key, data) {
      const target = pathFor(key);
      const dir = dirname(target);
      await mkdir(dir, { recursive: true });
      const tmp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(data);
        await fh.sync();
      } catch (err) {
        await fh.close();
        await rm(tmp, { force: true });
        throw err;
      }
      await fh.close();
      await rename(tmp, target);
      await syncDir(dir);
    },

    async writeFile(key, localFile) {
      const target = pathFor(key);
      const dir = dirname(target);
      await mkdir(dir, { recursive: true });
      // The data must be on disk before the name is: meta.json, written after, commits the block.
      await syncFile(localFile);
      try {
        await rename(localFile, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException | null)?.code !== 'EXDEV') throw err;
        // Another filesystem: copy beside the target, make it durable, then rename into place.
        const tmp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
        try {
          await copyFile(localFile, tmp);
          await syncFile(tmp);
          await rename(tmp, target);
        } catch (copyErr) {
          await rm(tmp, { force: true });
          throw copyErr;
        }
        await rm(localFile, { force: true });
      }
      await syncDir(dir);
    },

    async list(prefix) {
      try {
        const names = await readdir(pathFor(prefix));
        return names.filter((n) => !n.startsWith('.tmp-')).sort();
      } catch (err) {
        if (isNotFound(err) || isNotDir(err)) return [];
        throw err;
      }
    },

    async delete(key) {
      await rm(pathFor(key), { recursive: true, force: true });
    },

    localPath(key) {
      return pathFor(key);
    },
  };
}

async function syncFile(file: string): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic there.
  } finally {
    await fh.close();
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

function isNotDir(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOTDIR';
}
