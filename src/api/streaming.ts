/**
 * tempopb.StreamingQuerier: the gRPC service Grafana's Tempo data source calls when "Streaming" is on
 * (Tempo's `stream_over_http_enabled`), served on the HTTP API port (see h2c.ts). Requests are read
 * into the HTTP routes' parameters and answered by the same querier calls and protobuf encoders, so a
 * streamed answer is the HTTP answer in pieces:
 * - Search: while blocks are read, messages with the traces found since the last message and the
 *   counters so far (completedJobs of totalJobs), as Tempo's query frontend sends them and Grafana
 *   appends them (deduplicated by trace ID); the last message is the whole answer.
 * - MetricsQueryRange / MetricsQueryInstant: each message is the answer so far (all series), which is
 *   right whether the client replaces its frames (Grafana's backend) or merges samples by timestamp.
 * - Tags and tag values: one message, the answer (tag requests are answered from cached block lists).
 * Progress messages are sent after the first block (recent data comes first) and then at most every
 * `progressIntervalMs`, and skipped while the client is not reading; the call then ends with OK.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type Metadata, Server, ServerCredentials, status, type ServerWritableStream, type ServiceDefinition } from '@grpc/grpc-js';
import { channelOptions, type GrpcConnectionOptions } from '../receivers/grpc.js';
import { requestDuration } from '../metrics/request-duration.js';
import { TraceQLParseError, TraceQLUnsupportedError, TraceQLValidationError } from '../traceql/index.js';
import { parseTagRef } from '../querier/tags.js';
import type { SearchTrace } from '../querier/search-result.js';
import { ClientGone, QueryTimeout } from './deadline.js';
import { queryTimeouts } from './metrics.js';
import { encodeSearchResponse, encodeStringList, encodeTagScopes, encodeTagValues } from './search-encode.js';
import { encodeQueryInstant, encodeQueryRange } from './metrics-encode.js';
import { parseQueryInstantParams, parseQueryRangeParams } from './metrics-params.js';
import type { MetricsDeps } from './metrics-routes.js';
import { BadRequest } from './search-params.js';
import { scopesOf, searchRequestOf, tagRequest, v1TagNames, v1TagValues, v2TagScopes, type SearchDeps } from './search-routes.js';
import { tenantOf, TenantRefused } from './tenant.js';
import { admitStreamingQuery, type ApiGateOptions } from '../auth/api-gate.js';
import { AuthDenied } from '../auth/access.js';
import { asCaller } from '../auth/caller.js';
import { presentedToken } from '../auth/credentials.js';
import {
  decodeQueryInstantRequest,
  decodeQueryRangeRequest,
  decodeSearchRequest,
  decodeSearchTagsRequest,
  decodeSearchTagValuesRequest,
} from './streaming-requests.js';

export const STREAMING_SERVICE = 'tempopb.StreamingQuerier';

export interface StreamingDeps extends SearchDeps, MetricsDeps {
  readonly logger: Logger;
  /** HTTP/2 connection settings (Tempo's grpc_server_* keys). */
  readonly connection?: GrpcConnectionOptions;
  /** Least time between two progress messages of a call after the first. Default 100 ms. */
  readonly progressIntervalMs?: number;
  /** The HTTP routes' tenant checks and access control, applied to every call. Default: none. */
  readonly gate?: ApiGateOptions;
}

export interface StreamingQuerier {
  /** Serves gRPC on a connection whose first bytes were the HTTP/2 preface (or that chose `h2` by ALPN). */
  injectConnection(socket: Duplex): void;
  /** Ends every call and connection. */
  close(): void;
}

/** Sends a message of the answer so far, unless one went out too recently or the client is behind. */
type Progress = (build: () => Uint8Array) => void;

/** One call: the answer's last message, after any progress messages. */
type Run = (tenant: string, request: Buffer, signal: AbortSignal, progress: Progress) => Promise<Uint8Array>;

/** An error answered with a gRPC status, as the HTTP routes answer it with a 4xx. */
class CallError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

function headersOf(md: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md.getMap())) if (typeof v === 'string') out[k] = v;
  return out;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The gRPC status of a failed call, with the message the HTTP route would put in its 4xx body. */
function statusOf(err: unknown): { code: status; details: string } | null {
  if (err instanceof CallError) return { code: err.code, details: err.message };
  if (err instanceof AuthDenied) return { code: err.status === 401 ? status.UNAUTHENTICATED : status.PERMISSION_DENIED, details: err.message };
  if (err instanceof BadRequest || err instanceof TenantRefused) return { code: status.INVALID_ARGUMENT, details: err.message };
  if (err instanceof TraceQLParseError || err instanceof TraceQLValidationError || err instanceof TraceQLUnsupportedError) {
    return { code: status.INVALID_ARGUMENT, details: `invalid TraceQL query: ${err.message}` };
  }
  if (err instanceof QueryTimeout) return { code: status.DEADLINE_EXCEEDED, details: err.message };
  if (err instanceof ClientGone) return { code: status.CANCELLED, details: err.message };
  return null;
}

function method(name: string): ServiceDefinition[string] {
  return {
    path: `/${STREAMING_SERVICE}/${name}`,
    requestStream: false,
    responseStream: true,
    requestSerialize: (b: Buffer): Buffer => b,
    requestDeserialize: (b: Buffer): Buffer => b,
    responseSerialize: (m: Uint8Array): Buffer => toBuffer(m),
    responseDeserialize: (b: Buffer): Buffer => b,
  };
}

/** The service's method definitions, for clients (tests, benchmarks) that speak it with raw bytes. */
export const STREAMING_METHODS: ServiceDefinition = Object.fromEntries(
  ['Search', 'SearchTags', 'SearchTagsV2', 'SearchTagValues', 'SearchTagValuesV2', 'MetricsQueryRange', 'MetricsQueryInstant'].map((n) => [n, method(n)]),
);

export function createStreamingQuerier(deps: StreamingDeps): StreamingQuerier {
  const intervalMs = deps.progressIntervalMs ?? 100;
  // Requests are small; answers are bounded by the search and metrics limits, not by gRPC.
  const server = new Server(channelOptions(4 * 1024 * 1024, deps.connection ?? {}));

  const serve =
    (name: string, run: Run) =>
    (call: ServerWritableStream<Buffer, Uint8Array>): void => {
      const route = `/${STREAMING_SERVICE}/${name}`;
      const started = performance.now();
      const ctl = new AbortController();
      const timeoutMs = deps.searchTimeoutMs;
      const timer = timeoutMs > 0 ? setTimeout(() => ctl.abort(new QueryTimeout(timeoutMs, 'querier.search.query_timeout')), timeoutMs) : null;
      timer?.unref();
      // The client cancelled, or its deadline passed (grpc-js has then answered DEADLINE_EXCEEDED): stop the work.
      call.on('cancelled', () => ctl.abort(new ClientGone()));

      let sent = 0;
      let lastSent = 0;
      let behind = false;
      call.on('drain', () => (behind = false));
      const progress: Progress = (build) => {
        const now = performance.now();
        if (call.cancelled || behind || (sent > 0 && now - lastSent < intervalMs)) return;
        sent++;
        lastSent = now;
        behind = !call.write(build());
      };

      const finish = (outcome: 'success' | 'error' | 'cancel'): void => {
        if (timer !== null) clearTimeout(timer);
        requestDuration.observe({ method: 'gRPC', route, status_code: outcome, ws: 'false' }, (performance.now() - started) / 1000);
      };
      const answer = async (): Promise<Uint8Array> => {
        const headers = headersOf(call.metadata);
        if (deps.gate !== undefined) admitStreamingQuery((name) => headers[name], deps.gate);
        const tenant = tenantOf(headers, deps.multitenancy);
        if (tenant === null) throw new CallError(status.UNAUTHENTICATED, 'no org id');
        const access = deps.gate?.access ?? null;
        if (access === null) return run(tenant, call.request, ctl.signal, progress);
        // As on HTTP: the caller's token goes with the query's work (to queriers, behind a frontend).
        return asCaller(
          presentedToken((name) => headers[name], access.header),
          () => run(tenant, call.request, ctl.signal, progress),
        );
      };
      answer().then(
        (last) => {
          finish('success');
          if (call.cancelled) return;
          call.write(last);
          call.end();
        },
        (err: unknown) => {
          const st = statusOf(err);
          if (err instanceof QueryTimeout) queryTimeouts.inc({ route });
          finish(err instanceof ClientGone || call.cancelled ? 'cancel' : 'error');
          if (call.cancelled) return;
          if (st === null) deps.logger.error({ err, route }, 'streaming query failed');
          // Internal errors can carry file paths or SQL: those stay in the log.
          call.emit('error', st ?? { code: status.INTERNAL, details: 'internal error (details in the server log)' });
        },
      );
    };

  const search: Run = async (tenant, request, signal, progress) => {
    const sreq = searchRequestOf(tenant, decodeSearchRequest(request), deps);
    // With most_recent the newest traces are only known at the end: progress messages carry counters only.
    const mostRecent = sreq.query.hints.some((h) => h.name === 'most_recent' && h.value.type === 'bool' && h.value.value);
    const shown = new Set<string>();
    const result = await deps.search(tenant, {
      ...sreq,
      signal,
      onProgress: (partial) =>
        progress(() => {
          const p = partial();
          const fresh: SearchTrace[] = mostRecent ? [] : p.traces.filter((t) => !shown.has(t.traceId));
          for (const t of fresh) shown.add(t.traceId);
          return encodeSearchResponse({ traces: fresh, metrics: p.metrics });
        }),
    });
    return encodeSearchResponse(result);
  };

  const tagNames =
    (v1: boolean): Run =>
    async (tenant, request, signal) => {
      const qs = decodeSearchTagsRequest(request);
      const scopes = scopesOf(qs.scope, v1);
      const found = await deps.tagNames(tenant, scopes, tagRequest(qs, 'maxTagsPerScope', signal, deps.searchLimits));
      return v1 ? encodeStringList(v1TagNames(found)) : encodeTagScopes(v2TagScopes(found, scopes));
    };

  const tagValues =
    (v1: boolean): Run =>
    async (tenant, request, signal) => {
      const { tagName, qs } = decodeSearchTagValuesRequest(request);
      const tag = v1 ? { kind: 'attribute' as const, scope: 'none' as const, key: tagName } : parseTagRef(tagName);
      const values = await deps.tagValues(tenant, tag, tagRequest(qs, 'maxTagValues', signal, deps.searchLimits));
      return v1 ? encodeStringList(v1TagValues(values)) : encodeTagValues(values);
    };

  const metricsRange: Run = async (tenant, request, signal, progress) => {
    const { qs, instant } = decodeQueryRangeRequest(request);
    const p = instant ? parseQueryInstantParams(qs, deps.metricsLimits) : parseQueryRangeParams(qs, deps.metricsLimits);
    const answer = await deps.metricsQuery(tenant, { ...p, signal, onProgress: (partial) => progress(() => encodeQueryRange(partial())) });
    return encodeQueryRange(answer);
  };

  const metricsInstant: Run = async (tenant, request, signal, progress) => {
    const p = parseQueryInstantParams(decodeQueryInstantRequest(request), deps.metricsLimits);
    const answer = await deps.metricsQuery(tenant, { ...p, signal, onProgress: (partial) => progress(() => encodeQueryInstant(partial())) });
    return encodeQueryInstant(answer);
  };

  const runs: Record<string, Run> = {
    Search: search,
    SearchTags: tagNames(true),
    SearchTagsV2: tagNames(false),
    SearchTagValues: tagValues(true),
    SearchTagValuesV2: tagValues(false),
    MetricsQueryRange: metricsRange,
    MetricsQueryInstant: metricsInstant,
  };
  const handlers: Record<string, (call: ServerWritableStream<Buffer, Uint8Array>) => void> = {};
  for (const name of Object.keys(STREAMING_METHODS)) handlers[name] = serve(name, runs[name]!);
  server.addService(STREAMING_METHODS, handlers);

  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  return {
    injectConnection: (socket) => injector.injectConnection(socket),
    close: () => {
      injector.destroy();
      server.forceShutdown();
    },
  };
}
