import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Backend } from './backend.js';

/**
 * A Backend over an S3-compatible bucket (AWS S3, MinIO, Ceph radosgw), with Tempo's
 * `storage.trace.s3` keys. Every object is written by one PUT (or one multipart upload, which S3 also
 * makes visible only when complete), so readers never see part of an object; a block becomes visible
 * only when its meta.json is written, last.
 */

export interface S3BackendOptions {
  bucket: string;
  /** Key prefix inside the bucket; '' for none. */
  prefix?: string;
  /** Tempo style `host:port` (the scheme follows `insecure`) or a full URL; '' for AWS. */
  endpoint?: string;
  /** Default us-east-1 (MinIO and Ceph accept any). */
  region?: string;
  /** Static credentials; without them the AWS SDK's default chain (environment, profile, IAM role). */
  accessKey?: string;
  secretKey?: string;
  sessionToken?: string;
  /** Plain HTTP to the endpoint. */
  insecure?: boolean;
  /** Path-style addressing (`endpoint/bucket/key`), as MinIO needs. */
  forcePathStyle?: boolean;
}

/** Multipart part size for data.parquet uploads: bounds the memory an upload holds (parts × queue). */
const PART_SIZE = 16 * 1024 * 1024;
const UPLOAD_QUEUE = 2;

export function s3ClientConfig(opts: S3BackendOptions): S3ClientConfig {
  const cfg: S3ClientConfig = {
    region: opts.region !== undefined && opts.region !== '' ? opts.region : 'us-east-1',
    forcePathStyle: opts.forcePathStyle ?? false,
    // Checksums only where S3 requires them: older S3-compatible servers reject the newer headers.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  if (opts.endpoint !== undefined && opts.endpoint !== '') {
    cfg.endpoint = /^https?:\/\//.test(opts.endpoint) ? opts.endpoint : `${opts.insecure === true ? 'http' : 'https'}://${opts.endpoint}`;
  }
  if (opts.accessKey !== undefined && opts.accessKey !== '' && opts.secretKey !== undefined && opts.secretKey !== '') {
    cfg.credentials = {
      accessKeyId: opts.accessKey,
      secretAccessKey: opts.secretKey,
      ...(opts.sessionToken !== undefined && opts.sessionToken !== '' ? { sessionToken: opts.sessionToken } : {}),
    };
  }
  return cfg;
}

export function createS3Backend(opts: S3BackendOptions, client: S3Client = new S3Client(s3ClientConfig(opts))): Backend {
  const bucket = opts.bucket;
  const root = (opts.prefix ?? '')
    .split('/')
    .filter((s) => s !== '')
    .join('/');

  function keyFor(path: string): string {
    const parts = path.split('/').filter((s) => s !== '');
    // Keys are built from tenant IDs (request headers): no climbing out of the prefix.
    if (parts.some((p) => p === '..' || p === '.')) throw new Error(`backend path escapes root: ${path}`);
    return [root, ...parts].filter((s) => s !== '').join('/');
  }

  /** The folder form of a path: '' for the root, else 'key/'. */
  function folderFor(path: string): string {
    const k = keyFor(path);
    return k === '' ? '' : `${k}/`;
  }

  async function body(res: { Body?: { transformToByteArray(): Promise<Uint8Array> } | undefined }): Promise<Buffer> {
    if (res.Body === undefined) return Buffer.alloc(0);
    const bytes = await res.Body.transformToByteArray();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async function deleteAll(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const res = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
      const failed = res.Errors ?? [];
      if (failed.length > 0) throw new Error(`s3 delete failed for ${failed.length} objects: ${failed[0]?.Key ?? ''}: ${failed[0]?.Message ?? ''}`);
    }
  }

  return {
    async read(path) {
      try {
        return await body(await client.send(new GetObjectCommand({ Bucket: bucket, Key: keyFor(path) })));
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    },

    async readRange(path, offset, length) {
      if (length <= 0) return Buffer.alloc(0);
      const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: keyFor(path), Range: `bytes=${offset}-${offset + length - 1}` }));
      return body(res);
    },

    async write(path, data) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: keyFor(path), Body: data, ContentLength: data.byteLength }));
    },

    async writeFile(path, localFile) {
      // Streamed in parts: the file is never held in memory whole; S3 shows the object only once complete.
      const upload = new Upload({
        client,
        params: { Bucket: bucket, Key: keyFor(path), Body: createReadStream(localFile) },
        partSize: PART_SIZE,
        queueSize: UPLOAD_QUEUE,
        leavePartsOnError: false,
      });
      await upload.done();
      await rm(localFile, { force: true });
    },

    async list(path) {
      const prefix = folderFor(path);
      const names = new Set<string>();
      let token: string | undefined;
      do {
        const res = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ...(token !== undefined ? { ContinuationToken: token } : {}) }),
        );
        for (const p of res.CommonPrefixes ?? []) {
          const name = (p.Prefix ?? '').slice(prefix.length).replace(/\/$/, '');
          if (name !== '') names.add(name);
        }
        for (const o of res.Contents ?? []) {
          const name = (o.Key ?? '').slice(prefix.length);
          if (name !== '' && !name.includes('/')) names.add(name);
        }
        token = res.IsTruncated === true ? res.NextContinuationToken : undefined;
      } while (token !== undefined);
      return [...names].sort();
    },

    async delete(path) {
      const key = keyFor(path);
      if (key !== '') await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      // And everything under it, when the path is a "folder".
      const prefix = folderFor(path);
      let token: string | undefined;
      do {
        const res = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token !== undefined ? { ContinuationToken: token } : {}) }),
        );
        const keys = (res.Contents ?? []).map((o) => o.Key).filter((k): k is string => k !== undefined);
        if (keys.length > 0) await deleteAll(keys);
        token = res.IsTruncated === true ? res.NextContinuationToken : undefined;
      } while (token !== undefined);
    },

    localPath() {
      return null;
    },
  };
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}
