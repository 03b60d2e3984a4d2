import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SearchRequest } from '../querier/search.js';
import type { SearchResult } from '../querier/search-result.js';
import { TAG_SCOPES, parseTagRef, type TagRef, type TagRequest, type TagScope, type TagScopeNames, type TagValue } from '../querier/tags.js';
import { encodeSearchResponse, encodeStringList, encodeTagScopes, encodeTagValues, searchResponseJson } from './search-encode.js';
import { BadRequest, parseLimitsOf, parseSearchParams, parseSearchQuery, type SearchLimits, type SearchQueryString } from './search-params.js';
import { tenantOf } from './tenant.js';
import { querySignal } from './deadline.js';
import { formatDuration } from '../util/duration.js';
import { parseTimeRange } from './trace-routes.js';

export interface SearchDeps {
  readonly multitenancy: boolean;
  readonly searchLimits: SearchLimits;
  readonly search: (tenant: string, req: SearchRequest) => Promise<SearchResult>;
  readonly tagNames: (tenant: string, scopes: readonly TagScope[], req: TagRequest) => Promise<TagScopeNames[]>;
  readonly tagValues: (tenant: string, tag: TagRef, req: TagRequest) => Promise<TagValue[]>;
  /** Tempo's `querier.search.query_timeout`, for search and tag requests; 0: none. */
  readonly searchTimeoutMs: number;
  /**
   * Longest start..end a tenant's search may span: its `read.max_search_duration`, else
   * `query_frontend.search.max_duration`; 0: no bound.
   */
  readonly maxSearchDurationMs: (tenant: string) => number;
}

const PROTOBUF = 'application/protobuf';

export interface TagQueryString {
  scope?: string;
  q?: string;
  start?: string;
  end?: string;
  limit?: string;
  maxTagsPerScope?: string;
  maxTagValues?: string;
}

function wantsProtobuf(req: FastifyRequest): boolean {
  return req.headers.accept?.includes(PROTOBUF) === true;
}

async function send(reply: FastifyReply, req: FastifyRequest, json: unknown, proto: () => Uint8Array): Promise<FastifyReply> {
  if (wantsProtobuf(req)) return reply.type(PROTOBUF).send(Buffer.from(proto()));
  return reply.type('application/json').send(JSON.stringify(json));
}

export function tagRequest(qs: TagQueryString, limitKey: 'maxTagsPerScope' | 'maxTagValues', signal: AbortSignal, limits: SearchLimits): TagRequest {
  const range = parseTimeRange(qs);
  if (typeof range === 'string') throw new BadRequest(range);
  const rawLimit = qs.limit ?? qs[limitKey];
  let limit = 0;
  if (rawLimit !== undefined && rawLimit !== '') {
    limit = Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 0) throw new BadRequest(`invalid limit: ${rawLimit}`);
  }
  const out: { startMs?: number; endMs?: number; limit: number; query?: TagRequest['query']; signal: AbortSignal } = { ...range, limit, signal };
  if (qs.q !== undefined && qs.q.trim() !== '' && qs.q.trim() !== '{}') out.query = parseSearchQuery(qs.q, parseLimitsOf(limits));
  return out;
}

export function scopesOf(scope: string | undefined, v1: boolean): TagScope[] {
  if (scope === undefined || scope === '' || scope === 'none' || scope === 'all') {
    return v1 ? ['span', 'resource'] : [...TAG_SCOPES];
  }
  if ((TAG_SCOPES as readonly string[]).includes(scope)) return [scope as TagScope];
  throw new BadRequest(`invalid scope: ${scope} (want one of ${TAG_SCOPES.join(', ')}, none)`);
}

/** A search's parameters, checked against the tenant's longest search range. */
export function searchRequestOf(tenant: string, qs: SearchQueryString, deps: SearchDeps): SearchRequest {
  const sreq = parseSearchParams(qs, deps.searchLimits);
  const max = deps.maxSearchDurationMs(tenant);
  if (max > 0 && sreq.startMs !== undefined && sreq.endMs !== undefined && sreq.endMs - sreq.startMs > max) {
    throw new BadRequest(`range specified by start and end exceeds ${formatDuration(max)}. received start=${sreq.startMs / 1000} end=${sreq.endMs / 1000}`);
  }
  return sreq;
}

/** The v1 tag values answer: each value once, whatever its type. */
export function v1TagValues(values: readonly TagValue[]): string[] {
  return [...new Set(values.map((v) => v.value))];
}

/** The v1 tag answer: names of every scope asked, once each, sorted. */
export function v1TagNames(found: readonly TagScopeNames[]): string[] {
  return [...new Set(found.flatMap((s) => s.tags))].sort();
}

/** The v2 tag answer: scopes without any tags are left out, except the ones asked for by name. */
export function v2TagScopes(found: readonly TagScopeNames[], asked: readonly TagScope[]): TagScopeNames[] {
  return found.filter((s) => s.tags.length > 0 || asked.length === 1 || s.name === 'resource' || s.name === 'span');
}

/** /api/search and the tag endpoints Grafana's search, autocomplete and query builder use. */
export function registerSearchRoutes(app: FastifyInstance, deps: SearchDeps): void {
  const signalOf = (reply: FastifyReply): AbortSignal => querySignal(reply, deps.searchTimeoutMs, 'querier.search.query_timeout');
  // Every handler: tenant first, then parameters; BadRequest becomes a 400 with its message.
  const handle =
    <Q>(fn: (tenant: string, req: FastifyRequest<{ Querystring: Q; Params: Record<string, string> }>, reply: FastifyReply) => Promise<FastifyReply>) =>
    async (req: FastifyRequest<{ Querystring: Q; Params: Record<string, string> }>, reply: FastifyReply): Promise<FastifyReply> => {
      const tenant = tenantOf(req.headers, deps.multitenancy);
      if (tenant === null) return reply.code(401).type('text/plain').send('no org id');
      try {
        return await fn(tenant, req, reply);
      } catch (err) {
        if (err instanceof BadRequest) return reply.code(400).type('text/plain; charset=utf-8').send(err.message);
        throw err;
      }
    };

  app.get(
    '/api/search',
    handle<SearchQueryString>(async (tenant, req, reply) => {
      const sreq = searchRequestOf(tenant, req.query, deps);
      const result = await deps.search(tenant, { ...sreq, signal: signalOf(reply) });
      return send(reply, req, searchResponseJson(result), () => encodeSearchResponse(result));
    }),
  );

  app.get(
    '/api/search/tags',
    handle<TagQueryString>(async (tenant, req, reply) => {
      const scopes = scopesOf(req.query.scope, true);
      const found = await deps.tagNames(tenant, scopes, tagRequest(req.query, 'maxTagsPerScope', signalOf(reply), deps.searchLimits));
      const names = v1TagNames(found);
      return send(reply, req, { tagNames: names }, () => encodeStringList(names));
    }),
  );

  app.get(
    '/api/v2/search/tags',
    handle<TagQueryString>(async (tenant, req, reply) => {
      const scopes = scopesOf(req.query.scope, false);
      const found = await deps.tagNames(tenant, scopes, tagRequest(req.query, 'maxTagsPerScope', signalOf(reply), deps.searchLimits));
      const shown = v2TagScopes(found, scopes);
      return send(reply, req, { scopes: shown.map((s) => ({ name: s.name, tags: [...s.tags] })) }, () => encodeTagScopes(shown));
    }),
  );

  app.get(
    '/api/search/tag/:tagName/values',
    handle<TagQueryString>(async (tenant, req, reply) => {
      const name = req.params['tagName'] ?? '';
      const values = await deps.tagValues(
        tenant,
        { kind: 'attribute', scope: 'none', key: name },
        tagRequest(req.query, 'maxTagValues', signalOf(reply), deps.searchLimits),
      );
      const strings = v1TagValues(values);
      return send(reply, req, { tagValues: strings }, () => encodeStringList(strings));
    }),
  );

  app.get(
    '/api/v2/search/tag/:tagName/values',
    handle<TagQueryString>(async (tenant, req, reply) => {
      const name = req.params['tagName'] ?? '';
      if (name === '') throw new BadRequest('invalid tag name');
      const values = await deps.tagValues(tenant, parseTagRef(name), tagRequest(req.query, 'maxTagValues', signalOf(reply), deps.searchLimits));
      return send(reply, req, { tagValues: values.map((v) => ({ type: v.type, value: v.value })) }, () => encodeTagValues(values));
    }),
  );
}
