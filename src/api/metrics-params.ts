/**
 * Parameters of /api/metrics/query_range and /api/metrics/query as Tempo 2.10 reads them: `q` (or
 * `query`), `start`/`end` (unix seconds, unix nanoseconds, fractional seconds or RFC 3339; end
 * defaults to now, start to an hour before), `step` (seconds or a Go duration; a default aiming at
 * about 240 points), `exemplars`. Every problem is a BadRequest with the message shown to the user.
 */
import {
  defaultStepNs,
  parse,
  validate,
  TraceQLParseError,
  TraceQLUnsupportedError,
  TraceQLValidationError,
  type MetricsRange,
  type RootExpr,
} from '../traceql/index.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import { BadRequest } from './search-params.js';

export interface MetricsQueryString {
  q?: string;
  query?: string;
  start?: string;
  end?: string;
  since?: string;
  step?: string;
  exemplars?: string;
  maxSeries?: string;
}

export interface MetricsLimits {
  /** query_frontend.metrics.max_duration in ms; 0: none. */
  readonly maxDurationMs: number;
  /** query_frontend.metrics.max_exemplars: the default and the cap of `exemplars`. */
  readonly maxExemplars: number;
  /** query_frontend.metrics.max_intervals (default 10 000); 0: no limit. */
  readonly maxIntervals: number;
  /** query_frontend.metrics.max_response_series; 0: no limit. */
  readonly maxResponseSeries: number;
}

export interface ParsedMetricsRequest {
  readonly query: RootExpr;
  readonly range: MetricsRange;
  readonly exemplars: number;
  /** Series before the answer is cut and marked partial; 0: no limit. */
  readonly maxSeries: number;
}

const NS_PER_MS = 1_000_000n;
const HOUR_NS = 3_600_000_000_000n;

/** A timestamp parameter in unix ns (Tempo's parseTimestamp: 10 digits or fewer are seconds). */
export function parseTimestampNs(key: string, v: string): bigint {
  const s = v.trim();
  if (/^\d+\.\d*$/.test(s)) {
    const [sec, frac = ''] = s.split('.');
    const ms = BigInt(Math.round(Number(`0.${frac === '' ? '0' : frac}`) * 1000));
    return BigInt(sec!) * 1_000_000_000n + ms * NS_PER_MS;
  }
  if (/^-?\d+$/.test(s)) {
    const n = BigInt(s);
    if (n < 0n) throw new BadRequest(`invalid ${key}: ${v}`);
    return s.length <= 10 ? n * 1_000_000_000n : n;
  }
  const t = Date.parse(s);
  if (/^\d{4}-\d\d-\d\dT/.test(s) && Number.isFinite(t)) return BigInt(t) * NS_PER_MS;
  throw new BadRequest(`invalid ${key}: ${v} (want unix seconds, unix nanoseconds or RFC 3339)`);
}

/** `step` as seconds (`15`, `0.5`) or a Go duration (`30s`, `1m`), in ns. */
export function parseStepNs(v: string): bigint {
  const s = v.trim();
  let ms: number;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) ms = Number(s) * 1000;
  else {
    try {
      ms = parseDuration(s);
    } catch {
      throw new BadRequest(`invalid step: cannot parse "${v}" to a valid duration`);
    }
  }
  if (!Number.isFinite(ms) || ms <= 0) throw new BadRequest(`invalid step: ${v} (must be positive)`);
  return BigInt(Math.round(ms * 1e6));
}

export function parseMetricsQuery(q: string | undefined): RootExpr {
  if (q === undefined || q.trim() === '') throw new BadRequest('invalid TraceQL query: empty query (want q=<metrics query>, e.g. {} | rate())');
  let root: RootExpr;
  try {
    root = parse(q);
    validate(root);
  } catch (err) {
    if (err instanceof TraceQLParseError || err instanceof TraceQLValidationError || err instanceof TraceQLUnsupportedError) {
      throw new BadRequest(`invalid TraceQL query: ${err.message}`);
    }
    throw err;
  }
  if (root.kind !== 'metricsQuery')
    throw new BadRequest('invalid TraceQL query: not a metrics query (want a metrics function, e.g. {} | rate()); use /api/search for spanset queries');
  return root;
}

function bounds(qs: MetricsQueryString): { startNs: bigint; endNs: bigint } {
  const nowNs = BigInt(Date.now()) * NS_PER_MS;
  const endNs = qs.end !== undefined && qs.end !== '' ? parseTimestampNs('end', qs.end) : nowNs;
  let since = HOUR_NS;
  if (qs.since !== undefined && qs.since !== '') {
    try {
      since = BigInt(Math.round(parseDuration(qs.since) * 1e6));
    } catch {
      throw new BadRequest(`invalid since: ${qs.since}`);
    }
  }
  const endOrNow = endNs > nowNs ? nowNs : endNs;
  const startNs = qs.start !== undefined && qs.start !== '' ? parseTimestampNs('start', qs.start) : endOrNow - since;
  if (startNs >= endNs) throw new BadRequest('invalid range: end must be greater than start');
  return { startNs, endNs };
}

function exemplarsOf(qs: MetricsQueryString, limits: MetricsLimits): number {
  if (qs.exemplars === undefined || qs.exemplars === '') return limits.maxExemplars;
  const n = Number(qs.exemplars);
  if (!Number.isInteger(n) || n < 0) throw new BadRequest(`invalid exemplars: ${qs.exemplars}`);
  return Math.min(n === 0 ? limits.maxExemplars : n, limits.maxExemplars);
}

/** The series limit as Tempo picks it: the request's `maxSeries`, capped by (and defaulting to) the config's. */
function maxSeriesOf(qs: MetricsQueryString, limits: MetricsLimits): number {
  let asked = 0;
  if (qs.maxSeries !== undefined && qs.maxSeries !== '') {
    asked = Number(qs.maxSeries);
    if (!Number.isInteger(asked) || asked < 0) throw new BadRequest(`invalid maxSeries: ${qs.maxSeries}`);
  }
  const cap = limits.maxResponseSeries;
  return cap > 0 && (asked > cap || asked === 0) ? cap : asked;
}

function checkDuration(startNs: bigint, endNs: bigint, limits: MetricsLimits): void {
  if (limits.maxDurationMs > 0 && Number(endNs - startNs) / 1e6 > limits.maxDurationMs) {
    throw new BadRequest(`metrics query time range exceeds the maximum allowed duration of ${formatDuration(limits.maxDurationMs)}`);
  }
}

export function parseQueryRangeParams(qs: MetricsQueryString, limits: MetricsLimits): ParsedMetricsRequest {
  const query = parseMetricsQuery(qs.q ?? qs.query);
  const { startNs, endNs } = bounds(qs);
  const stepNs = qs.step !== undefined && qs.step !== '' ? parseStepNs(qs.step) : defaultStepNs(startNs, endNs);
  if (limits.maxIntervals > 0 && (endNs - startNs) / stepNs > BigInt(limits.maxIntervals)) {
    const minimum = (endNs - startNs) / BigInt(limits.maxIntervals);
    throw new BadRequest(
      `step of ${formatDuration(Number(stepNs) / 1e6)} is too small, minimum step for given range is ${formatDuration(Number(minimum) / 1e6)}`,
    );
  }
  checkDuration(startNs, endNs, limits);
  return { query, range: { startNs, endNs, stepNs, instant: false }, exemplars: exemplarsOf(qs, limits), maxSeries: maxSeriesOf(qs, limits) };
}

export function parseQueryInstantParams(qs: MetricsQueryString, limits: MetricsLimits): ParsedMetricsRequest {
  const query = parseMetricsQuery(qs.q ?? qs.query);
  const { startNs, endNs } = bounds(qs);
  checkDuration(startNs, endNs, limits);
  return { query, range: { startNs, endNs, stepNs: endNs - startNs, instant: true }, exemplars: 0, maxSeries: maxSeriesOf(qs, limits) };
}
