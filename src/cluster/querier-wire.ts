/**
 * The JSON the query frontend and the queriers' internal endpoints (querier-routes.ts) exchange: the
 * querier's own result types (SearchResult, MetricsAnswer, tags) rather than Tempo's API shapes, so
 * nothing is lost on the way — bigints travel as decimal strings, NaN and infinities as strings,
 * service stats as an object. Requests carry the parsed TraceQL query as its syntax tree (the data
 * functions behind the API receive it parsed) and are checked field by field on arrival: a malformed
 * one is an InternalBadRequest (400) naming the field.
 */
import { TAG_SCOPES, type TagScope, type TagScopeNames, type TagValue } from '../querier/tags.js';
import type { MetricsAnswer } from '../querier/metrics.js';
import type { SearchRequest } from '../querier/search.js';
import type { ResultAttribute, SearchMetrics, SearchResult, SearchSpan, SearchSpanSet, SearchTrace, ServiceStats } from '../querier/search-result.js';
import type { MetricsExemplar, MetricsRange, MetricsSeries, ResultValue, RootExpr, SeriesLabel } from '../traceql/index.js';
import type { TagRef } from '../block/block.js';

/** A request to an internal endpoint that does not hold together; answered 400 with the message. */
export class InternalBadRequest extends Error {
  readonly statusCode = 400;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

// ------------------------------------------------------------------------------------------ requests

/** Which part of a tenant's data a search job reads. */
export type JobSource = { readonly kind: 'recent' } | { readonly kind: 'blocks'; readonly blockIds: readonly string[] };

/** A search as the querier runs it (minus what stays in the frontend's process), over one part of the data. */
export interface SearchJobRequest extends Omit<SearchRequest, 'signal' | 'onProgress' | 'maxResultBytes'> {
  readonly maxResultBytes: number;
  readonly source: JobSource;
}

export interface MetricsJobRequest {
  readonly query: RootExpr;
  /** The range as MetricsQuerier takes it (it aligns it to the step itself). */
  readonly range: MetricsRange;
  readonly exemplars: number;
  readonly maxSeries: number;
  /** 'backend': stored blocks only (the range is older than query_frontend.metrics.query_backend_after). */
  readonly sources: 'all' | 'backend';
}

export interface TagsJobRequest {
  readonly scopes: readonly TagScope[];
  readonly startMs?: number;
  readonly endMs?: number;
  readonly limit: number;
  readonly query?: RootExpr;
}

export interface TagValuesJobRequest extends Omit<TagsJobRequest, 'scopes'> {
  readonly tag: TagRef;
}

const opt = <K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } => (v === undefined ? {} : ({ [k]: v } as { [P in K]?: V }));

export function searchJobJson(r: SearchJobRequest): JsonObject {
  return {
    query: r.query as unknown as Json,
    limit: r.limit,
    spss: r.spss,
    ...opt('startMs', r.startMs),
    ...opt('endMs', r.endMs),
    ...opt('minDurationNs', r.minDurationNs?.toString()),
    ...opt('maxDurationNs', r.maxDurationNs?.toString()),
    maxResultBytes: r.maxResultBytes,
    source: r.source.kind === 'recent' ? { kind: 'recent' } : { kind: 'blocks', blockIds: [...r.source.blockIds] },
  };
}

export function metricsJobJson(r: MetricsJobRequest): JsonObject {
  return {
    query: r.query as unknown as Json,
    range: { startNs: r.range.startNs.toString(), endNs: r.range.endNs.toString(), stepNs: r.range.stepNs.toString(), instant: r.range.instant },
    exemplars: r.exemplars,
    maxSeries: r.maxSeries,
    sources: r.sources,
  };
}

export function tagsJobJson(r: TagsJobRequest): JsonObject {
  return {
    scopes: [...r.scopes],
    ...opt('startMs', r.startMs),
    ...opt('endMs', r.endMs),
    limit: r.limit,
    ...opt('query', r.query as unknown as Json | undefined),
  };
}

export function tagValuesJobJson(r: TagValuesJobRequest): JsonObject {
  return {
    tag: r.tag as unknown as Json,
    ...opt('startMs', r.startMs),
    ...opt('endMs', r.endMs),
    limit: r.limit,
    ...opt('query', r.query as unknown as Json | undefined),
  };
}

/** Field readers that name what is wrong. */
class Reader {
  constructor(
    private readonly o: Record<string, unknown>,
    private readonly where: string,
  ) {}
  static of(body: unknown, where: string): Reader {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new InternalBadRequest(`${where}: want a JSON object`);
    return new Reader(body as Record<string, unknown>, where);
  }
  private bad(k: string, want: string): never {
    throw new InternalBadRequest(`${this.where}: ${k} must be ${want}`);
  }
  has(k: string): boolean {
    return this.o[k] !== undefined && this.o[k] !== null;
  }
  int(k: string, min = 0): number {
    const v = this.o[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) this.bad(k, `an integer >= ${min}`);
    return v;
  }
  optMs(k: string): number | undefined {
    if (!this.has(k)) return undefined;
    const v = this.o[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) this.bad(k, 'unix milliseconds');
    return v;
  }
  bigint(k: string): bigint {
    const v = this.o[k];
    if (typeof v !== 'string' || !/^-?\d{1,30}$/.test(v)) this.bad(k, 'an integer as a decimal string');
    return BigInt(v);
  }
  optBigint(k: string): bigint | undefined {
    return this.has(k) ? this.bigint(k) : undefined;
  }
  bool(k: string): boolean {
    const v = this.o[k];
    if (typeof v !== 'boolean') this.bad(k, 'true or false');
    return v;
  }
  oneOf<T extends string>(k: string, allowed: readonly T[]): T {
    const v = this.o[k];
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) this.bad(k, `one of ${allowed.join(', ')}`);
    return v as T;
  }
  strings(k: string): string[] {
    const v = this.o[k];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) this.bad(k, 'a list of strings');
    return v as string[];
  }
  object(k: string): Reader {
    return Reader.of(this.o[k], `${this.where}.${k}`);
  }
  /** A syntax tree as the frontend's parser built it; the querier validates it before running it. */
  query(k: string, kind: RootExpr['kind']): RootExpr {
    const v = this.o[k];
    if (v === null || typeof v !== 'object' || (v as { kind?: unknown }).kind !== kind || !Array.isArray((v as { hints?: unknown }).hints)) {
      this.bad(k, `a parsed TraceQL query of kind ${kind}`);
    }
    return v as RootExpr;
  }
  raw(k: string): unknown {
    return this.o[k];
  }
}

export function readSearchJob(body: unknown): SearchJobRequest {
  const r = Reader.of(body, 'search job');
  const src = r.object('source');
  const kind = src.oneOf('kind', ['recent', 'blocks'] as const);
  const startMs = r.optMs('startMs');
  const endMs = r.optMs('endMs');
  const minDurationNs = r.optBigint('minDurationNs');
  const maxDurationNs = r.optBigint('maxDurationNs');
  return {
    query: r.query('query', 'spansetQuery'),
    limit: r.int('limit', 1),
    spss: r.int('spss'),
    ...opt('startMs', startMs),
    ...opt('endMs', endMs),
    ...opt('minDurationNs', minDurationNs),
    ...opt('maxDurationNs', maxDurationNs),
    maxResultBytes: r.int('maxResultBytes'),
    source: kind === 'recent' ? { kind } : { kind, blockIds: src.strings('blockIds') },
  };
}

export function readMetricsJob(body: unknown): MetricsJobRequest {
  const r = Reader.of(body, 'metrics job');
  const range = r.object('range');
  const startNs = range.bigint('startNs');
  const endNs = range.bigint('endNs');
  const stepNs = range.bigint('stepNs');
  // start = end is a job of one interval: MetricsQuerier steps back from the start once when aligning.
  if (startNs < 0n || endNs < startNs) throw new InternalBadRequest('metrics job: range.endNs must not be before range.startNs (both >= 0)');
  if (stepNs <= 0n) throw new InternalBadRequest('metrics job: range.stepNs must be positive');
  return {
    query: r.query('query', 'metricsQuery'),
    range: { startNs, endNs, stepNs, instant: range.bool('instant') },
    exemplars: r.int('exemplars'),
    maxSeries: r.int('maxSeries'),
    sources: r.oneOf('sources', ['all', 'backend'] as const),
  };
}

function tagCommon(r: Reader): Omit<TagsJobRequest, 'scopes'> {
  const startMs = r.optMs('startMs');
  const endMs = r.optMs('endMs');
  return {
    ...opt('startMs', startMs),
    ...opt('endMs', endMs),
    limit: r.int('limit'),
    ...(r.has('query') ? { query: r.query('query', 'spansetQuery') } : {}),
  };
}

export function readTagsJob(body: unknown): TagsJobRequest {
  const r = Reader.of(body, 'tags job');
  const asked = r.strings('scopes');
  for (const s of asked) if (!(TAG_SCOPES as readonly string[]).includes(s)) throw new InternalBadRequest(`tags job: unknown scope ${s}`);
  return { scopes: asked as TagScope[], ...tagCommon(r) };
}

export function readTagValuesJob(body: unknown): TagValuesJobRequest {
  const r = Reader.of(body, 'tag values job');
  const tag = r.object('tag');
  const kind = tag.oneOf('kind', ['attribute', 'intrinsic'] as const);
  let ref: TagRef;
  if (kind === 'attribute') {
    const scope = tag.oneOf('scope', ['none', 'resource', 'span', 'event', 'link', 'instrumentation'] as const);
    const key = tag.raw('key');
    if (typeof key !== 'string') throw new InternalBadRequest('tag values job: tag.key must be a string');
    ref = { kind, scope, key };
  } else {
    const name = tag.raw('name');
    if (typeof name !== 'string') throw new InternalBadRequest('tag values job: tag.name must be a string');
    ref = { kind, name: name as Extract<TagRef, { kind: 'intrinsic' }>['name'] };
  }
  return { tag: ref, ...tagCommon(r) };
}

// ------------------------------------------------------------------------------------------- results

function num(v: number): Json {
  return Number.isFinite(v) ? v : String(v);
}

function unnum(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return Number.NaN;
  if (v === 'Infinity') return Number.POSITIVE_INFINITY;
  if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
  throw new Error(`querier answer: not a number: ${JSON.stringify(v)}`);
}

function valueJson(v: ResultValue): Json {
  if (v.type === 'array') return { type: 'array', values: v.values.map(valueJson) };
  if (v.type === 'nil') return { type: 'nil' };
  if (v.type === 'int' || v.type === 'float' || v.type === 'duration') return { type: v.type, value: num(v.value) };
  return { type: v.type, value: v.value } as JsonObject;
}

function resultValueOf(j: unknown): ResultValue {
  const o = j as { type: string; value?: unknown; values?: unknown[] };
  if (o.type === 'array') return { type: 'array', values: (o.values ?? []).map((x) => resultValueOf(x) as Exclude<ResultValue, { type: 'array' }>) };
  if (o.type === 'int' || o.type === 'float' || o.type === 'duration') return { type: o.type, value: unnum(o.value) };
  return o as ResultValue;
}

const attrsJson = (as: readonly ResultAttribute[]): Json[] => as.map((a) => ({ key: a.key, value: valueJson(a.value) }));
const attrsOf = (j: unknown): ResultAttribute[] => (j as { key: string; value: unknown }[]).map((a) => ({ key: a.key, value: resultValueOf(a.value) }));

export function searchMetricsJson(m: SearchMetrics): JsonObject {
  return { ...m };
}

function searchMetricsOf(j: unknown): SearchMetrics {
  const o = j as Record<string, unknown>;
  const n = (k: string): number => (typeof o[k] === 'number' ? (o[k] as number) : 0);
  return {
    inspectedTraces: n('inspectedTraces'),
    inspectedBytes: n('inspectedBytes'),
    inspectedSpans: n('inspectedSpans'),
    totalBlocks: n('totalBlocks'),
    totalBlockBytes: n('totalBlockBytes'),
    completedJobs: n('completedJobs'),
    totalJobs: n('totalJobs'),
  };
}

function spanJson(s: SearchSpan): JsonObject {
  return {
    spanId: s.spanId,
    name: s.name,
    startUnixNano: s.startUnixNano.toString(),
    durationNano: s.durationNano.toString(),
    attributes: attrsJson(s.attributes),
  };
}

function traceJson(t: SearchTrace): JsonObject {
  const stats: JsonObject = {};
  for (const [svc, st] of t.serviceStats) stats[svc] = { spanCount: st.spanCount, errorCount: st.errorCount };
  return {
    traceId: t.traceId,
    rootServiceName: t.rootServiceName,
    rootTraceName: t.rootTraceName,
    startUnixNano: t.startUnixNano.toString(),
    durationMs: t.durationMs,
    spanSets: t.spanSets.map((ss) => ({ matched: ss.matched, attributes: attrsJson(ss.attributes), spans: ss.spans.map(spanJson) })),
    serviceStats: stats,
  };
}

function traceOf(j: unknown): SearchTrace {
  const o = j as Record<string, unknown> & { spanSets: Record<string, unknown>[]; serviceStats: Record<string, ServiceStats> };
  return {
    traceId: String(o['traceId']),
    rootServiceName: String(o['rootServiceName']),
    rootTraceName: String(o['rootTraceName']),
    startUnixNano: BigInt(String(o['startUnixNano'])),
    durationMs: Number(o['durationMs']),
    spanSets: o.spanSets.map(
      (ss): SearchSpanSet => ({
        matched: Number(ss['matched']),
        attributes: attrsOf(ss['attributes']),
        spans: (ss['spans'] as Record<string, unknown>[]).map((s) => ({
          spanId: String(s['spanId']),
          name: String(s['name']),
          startUnixNano: BigInt(String(s['startUnixNano'])),
          durationNano: BigInt(String(s['durationNano'])),
          attributes: attrsOf(s['attributes']),
        })),
      }),
    ),
    serviceStats: new Map(Object.entries(o.serviceStats).map(([k, v]) => [k, { spanCount: v.spanCount, errorCount: v.errorCount }])),
  };
}

export function searchResultJson(r: SearchResult & { readonly missingBlocks?: readonly string[] }): JsonObject {
  return { traces: r.traces.map(traceJson), metrics: searchMetricsJson(r.metrics), missingBlocks: [...(r.missingBlocks ?? [])] };
}

/** A search job's answer, with the block IDs the querier did not know (compacted away meanwhile). */
export function searchResultOf(j: unknown): SearchResult & { readonly missingBlocks: readonly string[] } {
  const o = j as { traces: unknown[]; metrics: unknown; missingBlocks?: string[] };
  return { traces: o.traces.map(traceOf), metrics: searchMetricsOf(o.metrics), missingBlocks: o.missingBlocks ?? [] };
}

const labelsJson = (ls: readonly SeriesLabel[]): Json[] => ls.map((l) => ({ name: l.name, value: valueJson(l.value) }));
const labelsOf = (j: unknown): SeriesLabel[] => (j as { name: string; value: unknown }[]).map((l) => ({ name: l.name, value: resultValueOf(l.value) }));

export function metricsAnswerJson(a: MetricsAnswer): JsonObject {
  return {
    series: a.series.map((s) => ({
      labels: labelsJson(s.labels),
      values: s.values.map(num),
      exemplars: s.exemplars.map((e) => ({ labels: labelsJson(e.labels), value: num(e.value), timestampMs: e.timestampMs })),
    })),
    timestampsMs: [...a.timestampsMs],
    metrics: searchMetricsJson(a.metrics),
    ...opt('partial', a.partial),
  };
}

export function metricsAnswerOf(j: unknown): MetricsAnswer {
  const o = j as { series: Record<string, unknown>[]; timestampsMs: number[]; metrics: unknown; partial?: string };
  const series = o.series.map(
    (s): MetricsSeries => ({
      labels: labelsOf(s['labels']),
      values: (s['values'] as unknown[]).map(unnum),
      exemplars: (s['exemplars'] as Record<string, unknown>[]).map(
        (e): MetricsExemplar => ({ labels: labelsOf(e['labels']), value: unnum(e['value']), timestampMs: Number(e['timestampMs']) }),
      ),
    }),
  );
  return { series, timestampsMs: o.timestampsMs, metrics: searchMetricsOf(o.metrics), ...opt('partial', o.partial) };
}

export function tagNamesJson(found: readonly TagScopeNames[]): Json {
  return found.map((s) => ({ name: s.name, tags: [...s.tags] }));
}

export function tagNamesOf(j: unknown): TagScopeNames[] {
  return (j as { name: TagScope; tags: string[] }[]).map((s) => ({ name: s.name, tags: s.tags }));
}

export function tagValuesJson(values: readonly TagValue[]): Json {
  return values.map((v) => ({ type: v.type, value: v.value }));
}

export function tagValuesOf(j: unknown): TagValue[] {
  return (j as { type: string; value: string }[]).map((v) => ({ type: v.type, value: v.value }));
}
