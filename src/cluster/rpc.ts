/**
 * The internal gRPC API of distributed mode, on server.grpc_listen_port: distributors push to
 * ingesters, queriers read the ingesters' recent data. Messages are bytes the project already has
 * codecs for — a push is the OTLP ExportTraceServiceRequest as received (the WAL's own record), a
 * trace is an encoded tempopb.Trace — in length-prefixed frames, with small JSON headers for
 * requests, so no second protobuf schema has to be kept in step with the first.
 */
import {
  Metadata,
  Server,
  ServerCredentials,
  makeGenericClientConstructor,
  status,
  type Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientUnaryCall,
  type MethodDefinition,
  type ServiceDefinition,
  type ServiceError,
  type handleBidiStreamingCall,
  type handleServerStreamingCall,
  type handleUnaryCall,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { AttributeTagScope, BlockSource, TagRef, TypedValue } from '../block/block.js';
import type { BlockSearchFilter } from '../block/search.js';
import { candidateMatcher } from '../querier/search.js';
import { tagQuery } from '../querier/tags.js';
import { extractConditions, type RootExpr } from '../traceql/index.js';
import { decodeQuery } from './query-wire.js';
import type { TraceRecord } from '../model/trace-record.js';
import { PushError, type Pusher, type PushErrorKind, type PushResult } from '../model/pusher.js';
import { decodeExportRequest } from '../otlp/decode-request.js';
import type { CertificateWatcher } from '../tls/certificate-watcher.js';
import { grpcClientCredentials, listenGrpcOverTls } from '../tls/grpc-credentials.js';
import type { GrpcClientTls } from '../tls/settings.js';

const identity = (b: Buffer): Buffer => b;

/** A method of the service: raw buffers both ways (see the framing below), streaming as given. */
function rawMethod(name: string, requestStream: boolean, responseStream: boolean): MethodDefinition<Buffer, Buffer> {
  return {
    path: `/rubato.cluster.Ingester/${name}`,
    requestStream,
    responseStream,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

/** The service's methods: name, client streams, server streams. */
const INGESTER_SERVICE = {
  push: rawMethod('Push', false, false),
  findTrace: rawMethod('FindTrace', false, false),
  recentTraces: rawMethod('RecentTraces', false, true),
  // Recent-data reads evaluated on the ingester (see ingesters-source.ts).
  searchRecent: rawMethod('SearchRecent', true, true),
  findTraces: rawMethod('FindTraces', false, true),
  tagNames: rawMethod('TagNames', false, false),
  tagValues: rawMethod('TagValues', false, true),
} satisfies ServiceDefinition;

// ------------------------------------------------------------------------------------------ framing

/** Frames: each a uint32 (big endian) length then its bytes. */
export function encodeFrames(parts: readonly Uint8Array[]): Buffer {
  let size = 0;
  for (const p of parts) size += 4 + p.byteLength;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const p of parts) {
    out.writeUInt32BE(p.byteLength, at);
    out.set(p, at + 4);
    at += 4 + p.byteLength;
  }
  return out;
}

export function decodeFrames(buf: Buffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < buf.length) {
    if (at + 4 > buf.length) throw new Error('truncated frame header');
    const len = buf.readUInt32BE(at);
    if (at + 4 + len > buf.length) throw new Error('truncated frame');
    out.push(buf.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}

interface ReadRequest {
  readonly tenant: string;
  readonly traceId?: string;
  readonly startMs?: number;
  readonly endMs?: number;
}

function parseReadRequest(buf: Buffer): ReadRequest {
  const v = JSON.parse(buf.toString('utf8')) as Partial<ReadRequest>;
  if (typeof v.tenant !== 'string') throw new Error('tenant missing');
  return v as ReadRequest;
}

// Push errors travel as gRPC codes with the kind in trailing metadata, so the distributor answers its
// client as the ingester would have (429 stays 429, 400 stays 400).
const KIND_KEY = 'rubato-push-error';
const KIND_CODE: Record<PushErrorKind, status> = {
  invalid: status.INVALID_ARGUMENT,
  too_large: status.RESOURCE_EXHAUSTED,
  rate_limited: status.RESOURCE_EXHAUSTED,
  unavailable: status.UNAVAILABLE,
};

function rangeOf(req: ReadRequest): { startMs?: number; endMs?: number } {
  return { ...(req.startMs !== undefined ? { startMs: req.startMs } : {}), ...(req.endMs !== undefined ? { endMs: req.endMs } : {}) };
}

/** Records per streamed message: big enough to amortise framing, small enough to stay under message limits. */
const RECORDS_PER_MESSAGE = 256;

export interface IngesterRpcServerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxRecvBytes: number;
  readonly maxSendBytes: number;
  /** The ingester: takes pushes, and holds recent data as blocks. */
  readonly ingester: Pusher & BlockSource;
  readonly logger: Logger;
  /** TLS (server.grpc_tls_config, any client-auth mode) with a certificate that follows the files. Default: plaintext. */
  readonly tls?: CertificateWatcher;
}

export interface RpcServer {
  readonly port: number;
  close(): Promise<void>;
}

/** The ingester's side: Push (acknowledged after the WAL fsync, as every push), FindTrace, RecentTraces. */
export async function startIngesterRpcServer(opts: IngesterRpcServerOptions): Promise<RpcServer> {
  const { ingester, logger } = opts;
  const push: handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    const tenant = call.metadata.get('x-scope-orgid')[0];
    if (typeof tenant !== 'string' || tenant === '') {
      callback({ code: status.INVALID_ARGUMENT, details: 'tenant missing' });
      return;
    }
    let batch: ReturnType<typeof decodeExportRequest>;
    try {
      batch = decodeExportRequest(call.request, tenant);
    } catch (err) {
      callback({ code: status.INVALID_ARGUMENT, details: `undecodable push: ${String(err)}` });
      return;
    }
    ingester.push(batch).then(
      (r) => callback(null, Buffer.from(JSON.stringify({ rejectedSpans: r.rejectedSpans, message: r.message }))),
      (err: unknown) => {
        const md = new Metadata();
        if (err instanceof PushError) {
          md.set(KIND_KEY, err.kind);
          callback({ code: KIND_CODE[err.kind], details: err.message, metadata: md });
        } else {
          logger.error({ err }, 'internal push failed');
          callback({ code: status.INTERNAL, details: 'push failed' });
        }
      },
    );
  };
  const findTrace: handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    void (async () => {
      const req = parseReadRequest(call.request);
      if (typeof req.traceId !== 'string') throw new Error('traceId missing');
      const blocks = await ingester.blocks(req.tenant, rangeOf(req));
      const parts = (await Promise.all(blocks.map((b) => b.findTrace(req.traceId as string)))).flat();
      return encodeFrames(parts);
    })().then(
      (buf) => callback(null, buf),
      (err: unknown) => callback({ code: status.INTERNAL, details: String(err) }),
    );
  };
  const recentTraces: handleServerStreamingCall<Buffer, Buffer> = (call) => {
    void (async () => {
      const req = parseReadRequest(call.request);
      const blocks = await ingester.blocks(req.tenant, rangeOf(req));
      let parts: Uint8Array[] = [];
      for (const b of blocks) {
        for await (const rec of b.traces()) {
          if (call.cancelled) return;
          parts.push(Buffer.from(rec.traceId, 'hex'), rec.trace);
          if (parts.length >= 2 * RECORDS_PER_MESSAGE) {
            // Respect the client's pace: wait for the stream to drain before reading more.
            if (!call.write(encodeFrames(parts))) await new Promise((r) => call.once('drain', r));
            parts = [];
          }
        }
      }
      if (parts.length > 0) call.write(encodeFrames(parts));
    })().then(
      () => call.end(),
      (err: unknown) => {
        logger.warn({ err: String(err) }, 'streaming recent traces failed');
        fail(call, err);
      },
    );
  };

  const server = new Server({
    'grpc.max_receive_message_length': opts.maxRecvBytes,
    'grpc.max_send_message_length': opts.maxSendBytes,
  });
  server.addService(INGESTER_SERVICE, { push, findTrace, recentTraces, ...recentReadHandlers(ingester, logger) });
  const host = opts.host === '' ? '0.0.0.0' : opts.host;
  const secured = opts.tls === undefined ? null : await listenGrpcOverTls(server, host, opts.port, opts.tls, logger);
  const port =
    secured?.port ??
    (await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host}:${opts.port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    }));
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        secured?.close();
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 5_000).unref();
      }),
  };
}

// ------------------------------------------------------------------- recent reads on the ingester

/** First message of SearchRecent: the query and how many trace IDs the querier is ready for. */
export interface SearchRecentRequest {
  readonly tenant: string;
  /** Which head blocks to read (unix ms). */
  readonly startMs?: number;
  readonly endMs?: number;
  /** The TraceQL tree (encodeQuery). */
  readonly query: string;
  /** The search's time range and trace duration bounds, ns as decimal strings. */
  readonly startNs?: string;
  readonly endNs?: string;
  readonly minDurationNs?: string;
  readonly maxDurationNs?: string;
  /** Trace IDs the ingester may send before it waits for `{ "credit": n }` messages granting more. */
  readonly credit: number;
}

export interface FindTracesRequest {
  readonly tenant: string;
  readonly traceIds: readonly string[];
  readonly startMs?: number;
  readonly endMs?: number;
}

export interface TagNamesRequest {
  readonly tenant: string;
  readonly startMs?: number;
  readonly endMs?: number;
  readonly scopes: readonly AttributeTagScope[];
  /** `q` (encodeQuery); absent: every span counts. */
  readonly query?: string;
}

export interface TagValuesRequest {
  readonly tenant: string;
  readonly startMs?: number;
  readonly endMs?: number;
  readonly tag: TagRef;
  readonly query?: string;
}

const TRACE_ID_BYTES = 16;
/** Bytes per streamed message of traces or tag values: well under any sane max message size. */
const STREAM_MESSAGE_BYTES = 1 << 20;
/** Longest stretch of evaluation before the event loop gets a turn (pushes are acknowledged meanwhile). */
const YIELD_EVERY_MS = 10;
const ATTRIBUTE_SCOPES: readonly string[] = ['resource', 'span', 'event', 'link', 'instrumentation'];

class BadRequest extends Error {}

function parseJson<T extends { tenant: string }>(buf: Buffer): T {
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new BadRequest(`undecodable request: ${String(err)}`);
  }
  if (typeof v !== 'object' || v === null || typeof (v as { tenant?: unknown }).tenant !== 'string') throw new BadRequest('tenant missing');
  return v as T;
}

function queryOf(text: string | undefined): RootExpr | undefined {
  if (text === undefined) return undefined;
  try {
    return decodeQuery(text);
  } catch (err) {
    throw new BadRequest(`undecodable query: ${String(err)}`);
  }
}

function bigintOf(v: string | undefined): bigint | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw new BadRequest(`not an integer: ${v}`);
  return BigInt(v);
}

function statusOf(err: unknown): { code: status; details: string } {
  return err instanceof BadRequest ? { code: status.INVALID_ARGUMENT, details: err.message } : { code: status.INTERNAL, details: String(err) };
}

/**
 * Ends a streaming call with an error status. grpc-js sends the status of an 'error' event; a
 * destroyed stream sends none, and the caller would wait for its deadline.
 */
function fail(call: { emit(event: 'error', err: Error): boolean }, err: unknown): void {
  const st = statusOf(err);
  call.emit('error', Object.assign(new Error(st.details), st));
}

/**
 * Ends a server-streaming call once `work` is done, or with its error's status (logged unless the
 * request was bad); nothing more is sent once the caller cancelled.
 */
function endStream(
  call: { end(): void; emit(event: 'error', err: Error): boolean },
  signal: AbortSignal,
  work: Promise<void>,
  what: string,
  logger: Logger,
): void {
  work.then(
    () => {
      if (!signal.aborted) call.end();
    },
    (err: unknown) => {
      if (signal.aborted) return;
      if (!(err instanceof BadRequest)) logger.warn({ err: String(err) }, `${what} failed`);
      fail(call, err);
    },
  );
}

/** An AbortSignal that fires when the caller cancels the call (or its deadline passes). */
function cancelledSignal(call: { on(event: 'cancelled', fn: () => void): unknown }): AbortSignal {
  const ac = new AbortController();
  call.on('cancelled', () => ac.abort(new Error('cancelled by the querier')));
  return ac.signal;
}

/**
 * SearchRecent, FindTraces, TagNames and TagValues: the querier's reads of recent data, evaluated
 * here over the ingester's head blocks with the querier's own evaluator, so only answers cross the
 * wire instead of every recent trace.
 */
function recentReadHandlers(ingester: BlockSource, logger: Logger) {
  /**
   * Streams the IDs of matching traces as they are found. The querier grants credit (IDs it is ready
   * for) and the ingester evaluates only until that is used up, so a search that has enough after
   * the first batch costs the ingester no more than that batch; a cancelled call stops the scan.
   */
  const searchRecent: handleBidiStreamingCall<Buffer, Buffer> = (call) => {
    const signal = cancelledSignal(call);
    let credit = 0;
    // The querier half-closing means it wants nothing more.
    let stopped = false;
    let started = false;
    let wake: (() => void) | null = null;
    const poke = (): void => {
      const w = wake;
      wake = null;
      w?.();
    };
    const grant = (n: unknown): void => {
      if (typeof n === 'number' && Number.isFinite(n) && n > 0) credit += Math.floor(n);
      poke();
    };
    signal.addEventListener('abort', poke);
    call.on('end', () => {
      stopped = true;
      poke();
    });
    const over = (): boolean => stopped || signal.aborted;
    const run = async (req: SearchRecentRequest): Promise<void> => {
      const query = queryOf(req.query);
      if (query === undefined) throw new BadRequest('query missing');
      const filter: BlockSearchFilter = {
        conditions: extractConditions(query),
        query,
        ...optional('startNs', bigintOf(req.startNs)),
        ...optional('endNs', bigintOf(req.endNs)),
        ...optional('minTraceDurationNs', bigintOf(req.minDurationNs)),
        ...optional('maxTraceDurationNs', bigintOf(req.maxDurationNs)),
      };
      const matches = candidateMatcher(query, filter);
      const blocks = await ingester.blocks(req.tenant, rangeOf(req));
      let pending: Buffer[] = [];
      const flush = (): void => {
        if (pending.length === 0) return;
        call.write(Buffer.concat(pending));
        credit -= pending.length;
        pending = [];
      };
      while (credit <= 0 && !over()) await new Promise<void>((r) => (wake = r));
      let slice = performance.now();
      for (const block of blocks) {
        for await (const batch of block.search(filter, { batchSize: () => 64, signal })) {
          for (const rec of batch) {
            if (over()) return;
            if (matches(rec)) pending.push(Buffer.from(rec.traceId, 'hex'));
            if (pending.length >= credit || performance.now() - slice > YIELD_EVERY_MS) {
              flush();
              await new Promise((r) => setImmediate(r));
              while (credit <= 0 && !over()) await new Promise<void>((r) => (wake = r));
              slice = performance.now();
            }
          }
        }
      }
      if (!over()) flush();
    };
    call.on('data', (buf: Buffer) => {
      if (started) {
        let msg: unknown;
        try {
          msg = JSON.parse(buf.toString('utf8'));
        } catch (err) {
          fail(call, new BadRequest(`undecodable credit: ${String(err)}`));
          return;
        }
        grant(typeof msg === 'object' && msg !== null ? (msg as { credit?: unknown }).credit : undefined);
        return;
      }
      started = true;
      let req: SearchRecentRequest;
      try {
        req = parseJson<SearchRecentRequest>(buf);
      } catch (err) {
        fail(call, err);
        return;
      }
      grant(req.credit);
      endStream(call, signal, run(req), 'searching recent data', logger);
    });
  };

  /** Whole traces (every part this ingester holds) for a batch of IDs, as [id, part] frame pairs. */
  const findTraces: handleServerStreamingCall<Buffer, Buffer> = (call) => {
    const signal = cancelledSignal(call);
    const work = (async () => {
      const req = parseJson<FindTracesRequest>(call.request);
      if (!Array.isArray(req.traceIds) || !req.traceIds.every((id) => typeof id === 'string' && /^[0-9a-f]{32}$/.test(id))) {
        throw new BadRequest('traceIds must be 32 hex digits each');
      }
      const blocks = await ingester.blocks(req.tenant, rangeOf(req));
      let parts: Uint8Array[] = [];
      let bytes = 0;
      for (const traceId of req.traceIds) {
        if (signal.aborted) return;
        const id = Buffer.from(traceId, 'hex');
        for (const b of blocks) {
          for (const part of await b.findTrace(traceId, signal)) {
            parts.push(id, part);
            bytes += TRACE_ID_BYTES + part.byteLength + 8;
          }
        }
        if (bytes >= STREAM_MESSAGE_BYTES) {
          if (!call.write(encodeFrames(parts))) await new Promise((r) => call.once('drain', r));
          parts = [];
          bytes = 0;
        }
      }
      if (parts.length > 0) call.write(encodeFrames(parts));
    })();
    endStream(call, signal, work, 'reading recent traces', logger);
  };

  const tagNames: handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    const signal = cancelledSignal(call);
    void (async () => {
      const req = parseJson<TagNamesRequest>(call.request);
      if (!Array.isArray(req.scopes) || !req.scopes.every((x) => ATTRIBUTE_SCOPES.includes(x))) throw new BadRequest('bad scopes');
      const q = tagQuery({ query: queryOf(req.query), signal });
      const blocks = await ingester.blocks(req.tenant, rangeOf(req));
      const found: Record<string, string[]> = {};
      for (const names of await Promise.all(blocks.map((b) => b.tagNames(req.scopes, q)))) {
        for (const [scope, keys] of names) (found[scope] ??= []).push(...keys);
      }
      for (const k of Object.keys(found)) found[k] = [...new Set(found[k])];
      return Buffer.from(JSON.stringify(found));
    })().then(
      (buf) => callback(null, buf),
      (err: unknown) => {
        if (!(err instanceof BadRequest) && !signal.aborted) logger.warn({ err: String(err) }, 'reading recent tag names failed');
        callback(statusOf(err));
      },
    );
  };

  /** Distinct values as JSON arrays of {type, value}, in messages of about STREAM_MESSAGE_BYTES. */
  const tagValues: handleServerStreamingCall<Buffer, Buffer> = (call) => {
    const signal = cancelledSignal(call);
    const work = (async () => {
      const req = parseJson<TagValuesRequest>(call.request);
      if (typeof req.tag !== 'object' || req.tag === null) throw new BadRequest('tag missing');
      const q = tagQuery({ query: queryOf(req.query), signal });
      const blocks = await ingester.blocks(req.tenant, rangeOf(req));
      const out = new Map<string, TypedValue>();
      for (const values of await Promise.all(blocks.map((b) => b.tagValues(req.tag, q)))) {
        for (const v of values) out.set(`${v.type}\u0000${v.value}`, v);
      }
      let chunk: TypedValue[] = [];
      let bytes = 0;
      for (const v of out.values()) {
        if (signal.aborted) return;
        chunk.push(v);
        bytes += v.value.length + 32;
        if (bytes >= STREAM_MESSAGE_BYTES) {
          if (!call.write(Buffer.from(JSON.stringify(chunk)))) await new Promise((r) => call.once('drain', r));
          chunk = [];
          bytes = 0;
        }
      }
      if (chunk.length > 0) call.write(Buffer.from(JSON.stringify(chunk)));
    })();
    endStream(call, signal, work, 'reading recent tag values', logger);
  };

  return { searchRecent, findTraces, tagNames, tagValues };
}

function optional<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}

// ------------------------------------------------------------------------------------------- client

const IngesterClientCtor = makeGenericClientConstructor(INGESTER_SERVICE, 'rubato.cluster.Ingester');

interface RawClient extends Client {
  push(req: Buffer, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res?: Buffer) => void): void;
  findTrace(req: Buffer, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res?: Buffer) => void): void;
  recentTraces(req: Buffer, md: Metadata, opts: { deadline: number }): NodeJS.ReadableStream & { cancel(): void };
  searchRecent(md: Metadata, opts: { deadline: number }): ClientDuplexStream<Buffer, Buffer>;
  findTraces(req: Buffer, md: Metadata, opts: { deadline: number }): ClientReadableStream<Buffer>;
  tagNames(req: Buffer, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res?: Buffer) => void): ClientUnaryCall;
  tagValues(req: Buffer, md: Metadata, opts: { deadline: number }): ClientReadableStream<Buffer>;
}

/** A running SearchRecent call. */
export interface RecentSearch {
  /** Batches of matching trace IDs (hex) as the ingester finds them; ends when it has looked everywhere. */
  readonly ids: AsyncIterable<string[]>;
  /** Lets the ingester send `n` more IDs. */
  more(n: number): void;
  /** Stops the ingester's search. */
  cancel(): void;
}

/** Rejects `p` when `signal` aborts, cancelling the call. */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined, cancel: () => void): Promise<T> {
  if (signal === undefined) return p;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      cancel();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A connection to one ingester's internal API. */
export class IngesterClient {
  private readonly raw: RawClient;

  constructor(
    readonly addr: string,
    maxMessageBytes: number,
    /** TLS per ingester_client (or metrics_generator_client).grpc_client_config; null: plaintext. */
    tls: GrpcClientTls | null = null,
  ) {
    const channel = grpcClientCredentials(tls);
    this.raw = new IngesterClientCtor(addr, channel.credentials, {
      ...channel.options,
      'grpc.max_receive_message_length': maxMessageBytes,
      'grpc.max_send_message_length': maxMessageBytes,
      // A dead ingester must fail fast, not be retried for a minute.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2_000,
    }) as unknown as RawClient;
  }

  /** Pushes an encoded ExportTraceServiceRequest; rejects with a PushError. */
  push(tenant: string, payload: Uint8Array, timeoutMs: number): Promise<PushResult> {
    const md = new Metadata();
    md.set('x-scope-orgid', tenant);
    const req = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    return new Promise((resolve, reject) => {
      this.raw.push(req, md, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err !== null) {
          const kind = err.metadata?.get(KIND_KEY)[0];
          const known = kind === 'invalid' || kind === 'too_large' || kind === 'rate_limited' || kind === 'unavailable';
          reject(new PushError(known ? kind : 'unavailable', `ingester ${this.addr}: ${err.details || err.message}`));
          return;
        }
        const r = JSON.parse((res ?? Buffer.from('{}')).toString('utf8')) as Partial<PushResult>;
        resolve({ rejectedSpans: r.rejectedSpans ?? 0, message: r.message ?? '' });
      });
    });
  }

  findTrace(req: ReadRequest, timeoutMs: number): Promise<Uint8Array[]> {
    return new Promise((resolve, reject) => {
      this.raw.findTrace(Buffer.from(JSON.stringify(req)), new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err !== null) reject(new Error(`ingester ${this.addr}: ${err.details || err.message}`));
        else resolve(decodeFrames(res ?? Buffer.alloc(0)));
      });
    });
  }

  /** Every trace of the ingester's recent data overlapping the range. */
  async *recentTraces(req: ReadRequest, timeoutMs: number): AsyncGenerator<TraceRecord[]> {
    const stream = this.raw.recentTraces(Buffer.from(JSON.stringify(req)), new Metadata(), { deadline: Date.now() + timeoutMs });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        const frames = decodeFrames(chunk);
        const batch: TraceRecord[] = [];
        for (let i = 0; i + 1 < frames.length; i += 2) batch.push({ traceId: Buffer.from(frames[i]!).toString('hex'), trace: frames[i + 1]! });
        yield batch;
      }
    } finally {
      stream.cancel();
    }
  }

  /** Evaluates a search on the ingester's recent data; see SearchRecentRequest for the credit. */
  searchRecent(req: SearchRecentRequest, timeoutMs: number): RecentSearch {
    const call = this.raw.searchRecent(new Metadata(), { deadline: Date.now() + timeoutMs });
    // A write after the call ended (the ingester finished or failed) is not an error worth a crash.
    call.on('error', () => undefined);
    call.write(Buffer.from(JSON.stringify(req)));
    const addr = this.addr;
    return {
      ids: (async function* () {
        try {
          for await (const chunk of call as AsyncIterable<Buffer>) {
            const ids: string[] = [];
            for (let at = 0; at + TRACE_ID_BYTES <= chunk.length; at += TRACE_ID_BYTES) ids.push(chunk.toString('hex', at, at + TRACE_ID_BYTES));
            yield ids;
          }
        } catch (err) {
          const e = err as Partial<ServiceError>;
          throw new Error(`ingester ${addr}: ${e.details || e.message || String(err)}`);
        }
      })(),
      more: (n) => {
        if (!call.writableEnded && !call.destroyed) call.write(Buffer.from(JSON.stringify({ credit: n })));
      },
      cancel: () => call.cancel(),
    };
  }

  /** Every part this ingester holds of each trace, by trace ID. */
  async findTraces(req: FindTracesRequest, timeoutMs: number, signal?: AbortSignal): Promise<Map<string, Uint8Array[]>> {
    const stream = this.raw.findTraces(Buffer.from(JSON.stringify(req)), new Metadata(), { deadline: Date.now() + timeoutMs });
    const read = async (): Promise<Map<string, Uint8Array[]>> => {
      const out = new Map<string, Uint8Array[]>();
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          const frames = decodeFrames(chunk);
          for (let i = 0; i + 1 < frames.length; i += 2) {
            const id = Buffer.from(frames[i]!).toString('hex');
            const parts = out.get(id);
            if (parts === undefined) out.set(id, [frames[i + 1]!]);
            else parts.push(frames[i + 1]!);
          }
        }
      } catch (err) {
        const e = err as Partial<ServiceError>;
        throw new Error(`ingester ${this.addr}: ${e.details || e.message || String(err)}`);
      }
      return out;
    };
    return abortable(read(), signal, () => stream.cancel());
  }

  /** Attribute keys per scope in the ingester's recent data. */
  tagNames(req: TagNamesRequest, timeoutMs: number, signal?: AbortSignal): Promise<Map<AttributeTagScope, string[]>> {
    let call: ClientUnaryCall | undefined;
    const p = new Promise<Map<AttributeTagScope, string[]>>((resolve, reject) => {
      call = this.raw.tagNames(Buffer.from(JSON.stringify(req)), new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err !== null) {
          reject(new Error(`ingester ${this.addr}: ${err.details || err.message}`));
          return;
        }
        const v = JSON.parse((res ?? Buffer.from('{}')).toString('utf8')) as Record<string, string[]>;
        resolve(new Map(Object.entries(v) as [AttributeTagScope, string[]][]));
      });
    });
    return abortable(p, signal, () => call?.cancel());
  }

  /** Distinct values of a tag in the ingester's recent data. */
  tagValues(req: TagValuesRequest, timeoutMs: number, signal?: AbortSignal): Promise<TypedValue[]> {
    const stream = this.raw.tagValues(Buffer.from(JSON.stringify(req)), new Metadata(), { deadline: Date.now() + timeoutMs });
    const read = async (): Promise<TypedValue[]> => {
      const out: TypedValue[] = [];
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) out.push(...(JSON.parse(chunk.toString('utf8')) as TypedValue[]));
      } catch (err) {
        const e = err as Partial<ServiceError>;
        throw new Error(`ingester ${this.addr}: ${e.details || e.message || String(err)}`);
      }
      return out;
    };
    return abortable(read(), signal, () => stream.cancel());
  }

  close(): void {
    this.raw.close();
  }
}
