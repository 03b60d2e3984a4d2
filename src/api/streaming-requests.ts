/**
 * The request messages of tempopb.StreamingQuerier (Grafana's streaming gRPC), read into the same
 * query-string shapes the HTTP routes parse, so a streamed query is checked by exactly the code that
 * checks /api/search or /api/metrics/query_range. Field numbers are tempopb's; fields rubato does not
 * use (RF1After, skipASTTransformations, the querier-internal block fields) are skipped.
 */
import { WIRE_LEN, WIRE_VARINT, WireReader, wireTypeName } from '../otlp/wire.js';
import type { MetricsQueryString } from './metrics-params.js';
import { BadRequest, type SearchQueryString } from './search-params.js';
import type { TagQueryString } from './search-routes.js';

type FieldReader = (r: WireReader) => void;

/** Reads a message, calling `fields[n]` for field n of the wire type it expects; others are skipped. */
function readMessage(name: string, buf: Uint8Array, fields: Record<number, [wireType: number, read: FieldReader]>): void {
  const r = new WireReader(buf);
  try {
    while (!r.eof()) {
      const t = r.tag();
      const field = fields[t >>> 3];
      const wt = t & 7;
      if (field === undefined) {
        r.skip(wt);
        continue;
      }
      if (wt !== field[0]) throw new BadRequest(`invalid ${name}: field ${t >>> 3} is ${wireTypeName(wt)}, want ${wireTypeName(field[0])}`);
      field[1](r);
    }
  } catch (err) {
    if (err instanceof BadRequest) throw err;
    throw new BadRequest(`invalid ${name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const str = (set: (v: string) => void): [number, FieldReader] => [WIRE_LEN, (r) => set(r.string())];
/** A uint32/uint64 field as decimal text; 0 (proto3's "not set") leaves the parameter out. */
const uint = (set: (v: string) => void): [number, FieldReader] => [
  WIRE_VARINT,
  (r) => {
    const v = r.varintUint64();
    if (v !== 0n) set(v.toString());
  },
];

// A logfmt key cannot hold spaces, `=` or quotes (see parseLogfmt).
const LOGFMT_KEY = /^[^\s="]+$/;

/** tempopb.SearchRequest as /api/search's parameters. */
export function decodeSearchRequest(buf: Uint8Array): SearchQueryString {
  const qs: SearchQueryString = {};
  const tags: string[] = [];
  readMessage('SearchRequest', buf, {
    1: [
      WIRE_LEN,
      (r) => {
        // map<string, string> Tags: entries with key 1, value 2.
        let key = '';
        let value = '';
        readMessage('SearchRequest.Tags', r.bytes(), { 1: str((v) => (key = v)), 2: str((v) => (value = v)) });
        if (!LOGFMT_KEY.test(key)) throw new BadRequest(`invalid tags: tag name ${JSON.stringify(key)} cannot hold spaces, '=' or quotes`);
        tags.push(`${key}=${JSON.stringify(value)}`);
      },
    ],
    2: uint((v) => (qs.minDuration = `${v}ms`)),
    3: uint((v) => (qs.maxDuration = `${v}ms`)),
    4: uint((v) => (qs.limit = v)),
    5: uint((v) => (qs.start = v)),
    6: uint((v) => (qs.end = v)),
    8: str((v) => (qs.q = v)),
    9: uint((v) => (qs.spss = v)),
  });
  if (tags.length > 0) qs.tags = tags.join(' ');
  return qs;
}

/** tempopb.SearchTagsRequest as /api/(v2/)search/tags's parameters. */
export function decodeSearchTagsRequest(buf: Uint8Array): TagQueryString {
  const qs: TagQueryString = {};
  readMessage('SearchTagsRequest', buf, {
    1: str((v) => (qs.scope = v)),
    2: str((v) => (qs.q = v)),
    3: uint((v) => (qs.start = v)),
    4: uint((v) => (qs.end = v)),
    5: uint((v) => (qs.maxTagsPerScope = v)),
  });
  return qs;
}

/** tempopb.SearchTagValuesRequest as the tag values routes' name and parameters. */
export function decodeSearchTagValuesRequest(buf: Uint8Array): { tagName: string; qs: TagQueryString } {
  const qs: TagQueryString = {};
  let tagName = '';
  readMessage('SearchTagValuesRequest', buf, {
    1: str((v) => (tagName = v)),
    2: str((v) => (qs.q = v)),
    4: uint((v) => (qs.start = v)),
    5: uint((v) => (qs.end = v)),
    6: uint((v) => (qs.maxTagValues = v)),
  });
  if (tagName === '') throw new BadRequest('invalid SearchTagValuesRequest: tagName is empty');
  return { tagName, qs };
}

// Start and end are unix nanoseconds here; the HTTP parser reads 10 digits or fewer as seconds, so
// they are padded past that.
const ns = (set: (v: string) => void): [number, FieldReader] => uint((v) => set(v.padStart(11, '0')));

/** tempopb.QueryRangeRequest as /api/metrics/query_range's parameters (`instant` when it asks for one value). */
export function decodeQueryRangeRequest(buf: Uint8Array): { qs: MetricsQueryString; instant: boolean } {
  const qs: MetricsQueryString = {};
  let instant = false;
  readMessage('QueryRangeRequest', buf, {
    1: str((v) => (qs.q = v)),
    2: ns((v) => (qs.start = v)),
    3: ns((v) => (qs.end = v)),
    4: uint((v) => (qs.step = `${v}ns`)),
    16: uint((v) => (qs.exemplars = v)),
    17: uint((v) => (qs.maxSeries = v)),
    18: [WIRE_VARINT, (r) => (instant = r.bool())],
  });
  return { qs, instant };
}

/** tempopb.QueryInstantRequest as /api/metrics/query's parameters. */
export function decodeQueryInstantRequest(buf: Uint8Array): MetricsQueryString {
  const qs: MetricsQueryString = {};
  readMessage('QueryInstantRequest', buf, {
    1: str((v) => (qs.q = v)),
    2: ns((v) => (qs.start = v)),
    3: ns((v) => (qs.end = v)),
  });
  return qs;
}
