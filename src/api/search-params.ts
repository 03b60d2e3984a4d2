import {
  DEFAULT_PARSE_LIMITS,
  parse,
  validate,
  TraceQLParseError,
  TraceQLUnsupportedError,
  TraceQLValidationError,
  type ParseLimits,
  type RootExpr,
} from '../traceql/index.js';
import type { SearchRequest } from '../querier/search.js';
import { parseDuration } from '../util/duration.js';
import { parseTimeRange } from './trace-routes.js';

/** Search defaults and caps from `query_frontend.search`. */
export interface SearchLimits {
  readonly defaultLimit: number;
  /** 0: no cap. */
  readonly maxLimit: number;
  readonly defaultSpss: number;
  readonly maxSpss: number;
  /** rubato's `query_frontend.search.max_response_bytes`: results a search may collect; 0: no bound. */
  readonly maxResponseBytes: number;
  /** Tempo's `query_frontend.max_query_expression_size_bytes`; default 128 KiB. */
  readonly maxQueryBytes?: number;
}

/** The parse limits a search or tag request's query must respect. */
export function parseLimitsOf(limits: SearchLimits): ParseLimits {
  return limits.maxQueryBytes === undefined ? DEFAULT_PARSE_LIMITS : { ...DEFAULT_PARSE_LIMITS, maxQueryBytes: limits.maxQueryBytes };
}

export interface SearchQueryString {
  q?: string;
  tags?: string;
  minDuration?: string;
  maxDuration?: string;
  limit?: string;
  spss?: string;
  start?: string;
  end?: string;
}

/** A request error: the message is the 400 answer's body. */
export class BadRequest extends Error {}

/** Parses and checks a TraceQL search query; refuses metrics queries, which have their own endpoints. */
export function parseSearchQuery(q: string, limits: ParseLimits = DEFAULT_PARSE_LIMITS): RootExpr {
  let root: RootExpr;
  try {
    root = parse(q, limits);
    validate(root);
  } catch (err) {
    if (err instanceof TraceQLParseError || err instanceof TraceQLValidationError || err instanceof TraceQLUnsupportedError) {
      throw new BadRequest(`invalid TraceQL query: ${err.message}`);
    }
    throw err;
  }
  if (root.kind === 'metricsQuery') {
    throw new BadRequest('invalid TraceQL query: metrics queries are not supported on /api/search; use /api/metrics/query_range or /api/metrics/query');
  }
  return root;
}

// A quoted TraceQL attribute name only knows the escapes \" and \\ (see the lexer).
function quoteName(key: string): string {
  return /^[A-Za-z0-9_.:/-]+$/.test(key) && !key.startsWith('.') ? key : `"${key.replace(/[\\"]/g, '\\$&')}"`;
}

// One `key=value` pair: the value is quoted (JSON-like escapes, as go-logfmt) or runs to the next
// space; either way a space or the end must follow. The alternatives are disjoint, so no backtracking.
const LOGFMT_PAIR = /([^\s="]+)=(?:"((?:[^"\\]|\\.)*)"|([^\s"]*))(?=\s|$)/y;

/** logfmt pairs: `a=b c="d e"`. Anything else is a BadRequest naming where it went wrong. */
export function parseLogfmt(s: string): [string, string][] {
  const out: [string, string][] = [];
  let pos = 0;
  for (;;) {
    while (pos < s.length && /\s/.test(s[pos]!)) pos++;
    if (pos >= s.length) return out;
    LOGFMT_PAIR.lastIndex = pos;
    const m = LOGFMT_PAIR.exec(s);
    if (m === null) throw badTags(s, pos, 'expected key=value or key="quoted value"');
    let v = m[3] ?? '';
    if (m[2] !== undefined) {
      try {
        v = JSON.parse(`"${m[2]}"`) as string;
      } catch {
        throw badTags(s, pos, 'invalid escape or control character in quoted value');
      }
    }
    out.push([m[1]!, v]);
    pos = LOGFMT_PAIR.lastIndex;
  }
}

function badTags(s: string, pos: number, why: string): BadRequest {
  const near = s.slice(pos, pos + 40);
  return new BadRequest(
    `invalid tags: ${why} at offset ${pos} near ${JSON.stringify(near)}${pos + 40 < s.length ? '…' : ''} (want logfmt, e.g. service.name=foo http.status_code=500)`,
  );
}

/**
 * The legacy `tags` search as TraceQL: every tag must be found on some span of the trace (or its
 * resource). Numbers and booleans also match attributes of those types.
 */
export function legacyTagsToTraceQL(tags: string): string {
  const filters = parseLogfmt(tags).map(([k, v]) => {
    const str = JSON.stringify(v);
    switch (k) {
      case 'name':
        return `{ name = ${str} }`;
      case 'root.name':
        return `{ rootName = ${str} }`;
      case 'root.service.name':
      case 'rootServiceName':
        return `{ rootServiceName = ${str} }`;
      case 'status.code':
        if (['error', 'ok', 'unset'].includes(v)) return `{ status = ${v} }`;
        break;
      case 'error':
        if (v === 'true') return '{ status = error }';
        break;
    }
    const attr = `.${quoteName(k)}`;
    const alts = [`${attr} = ${str}`];
    if (/^-?\d+$/.test(v)) alts.push(`${attr} = ${v}`);
    else if (/^-?\d*\.\d+$/.test(v)) alts.push(`${attr} = ${v}`);
    if (v === 'true' || v === 'false') alts.push(`${attr} = ${v}`);
    return `{ ${alts.join(' || ')} }`;
  });
  return filters.length === 0 ? '{ }' : filters.join(' && ');
}

function intParam(name: string, v: string | undefined, def: number, min: number): number {
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new BadRequest(`invalid ${name}: ${v}`);
  return n;
}

function durationParam(name: string, v: string | undefined): bigint | undefined {
  if (v === undefined || v === '') return undefined;
  let ms: number;
  try {
    ms = parseDuration(v);
  } catch {
    throw new BadRequest(`invalid ${name}: ${v} (want a duration such as 100ms or 1.5s)`);
  }
  if (ms < 0) throw new BadRequest(`invalid ${name}: ${v}`);
  return BigInt(Math.round(ms * 1e6));
}

/** The search request from /api/search's query string; throws BadRequest with Tempo-like messages. */
export function parseSearchParams(qs: SearchQueryString, limits: SearchLimits): SearchRequest {
  const text = qs.q !== undefined && qs.q.trim() !== '' ? qs.q : legacyTagsToTraceQL(qs.tags ?? '');
  const query = parseSearchQuery(text, parseLimitsOf(limits));
  let limit = intParam('limit', qs.limit, limits.defaultLimit, 1);
  if (limits.maxLimit > 0) limit = Math.min(limit, limits.maxLimit);
  let spss = intParam('spss', qs.spss, limits.defaultSpss, 0);
  if (limits.maxSpss > 0) spss = Math.min(spss, limits.maxSpss);
  const minDurationNs = durationParam('minDuration', qs.minDuration);
  const maxDurationNs = durationParam('maxDuration', qs.maxDuration);
  if (minDurationNs !== undefined && maxDurationNs !== undefined && maxDurationNs < minDurationNs) {
    throw new BadRequest('invalid maxDuration: maxDuration must be greater than minDuration');
  }
  const range = parseTimeRange(qs);
  if (typeof range === 'string') throw new BadRequest(range);
  return {
    query,
    limit,
    spss,
    maxResultBytes: limits.maxResponseBytes,
    ...range,
    ...(minDurationNs !== undefined ? { minDurationNs } : {}),
    ...(maxDurationNs !== undefined ? { maxDurationNs } : {}),
  };
}
