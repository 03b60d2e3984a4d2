/**
 * The web UI's view of one trace, built from Tempo's JSON answer (GET /api/v2/traces/<id>): a flat
 * span array with tree links, depths, service colours and the critical path. Kept free of the DOM so
 * the root tsconfig compiles it and node tests check it; the waterfall only reads these arrays, which
 * is what keeps a 50,000-span trace cheap to draw.
 */

export interface Attr {
  readonly key: string;
  /** The value as shown: strings unquoted, arrays and maps as JSON. */
  readonly value: string;
}

export interface UiEvent {
  readonly name: string;
  readonly timeMs: number;
  readonly attributes: readonly Attr[];
}

export interface UiLink {
  readonly traceId: string;
  readonly spanId: string;
  readonly attributes: readonly Attr[];
}

export interface UiSpan {
  readonly index: number;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: string;
  readonly service: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly durationMs: number;
  readonly statusCode: 'unset' | 'ok' | 'error';
  readonly statusMessage: string;
  readonly attributes: readonly Attr[];
  readonly resource: readonly Attr[];
  readonly scopeName: string;
  readonly scopeVersion: string;
  readonly scopeAttributes: readonly Attr[];
  readonly events: readonly UiEvent[];
  readonly links: readonly UiLink[];
  /** Index of the parent span; -1 for a root or a span whose parent is missing. */
  parent: number;
  depth: number;
  children: number[];
  critical: boolean;
}

export interface TraceModel {
  readonly traceId: string;
  readonly spans: UiSpan[];
  readonly roots: number[];
  readonly startMs: number;
  readonly endMs: number;
  /** Services in order of first appearance in the tree; a service's colour is its index here. */
  readonly services: string[];
  /** Every span index in tree (depth-first, start-time) order. */
  readonly order: number[];
  readonly errorCount: number;
  /** Spans whose parent is not in the trace (shown as extra roots). */
  readonly orphanCount: number;
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

function obj(v: Json | undefined): Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {};
}
function arr(v: Json | undefined): Json[] {
  return Array.isArray(v) ? v : [];
}
function str(v: Json | undefined): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
// By char code; URL-safe '-' and '_' too. -1: not a base64 letter (padding, whitespace).
const B64_CODE = new Int8Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_CODE[B64.charCodeAt(i)] = i;
B64_CODE[45] = 62;
B64_CODE[95] = 63;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Tempo's JSON carries IDs as base64 (gogo jsonpb); the UI shows and links them as hex. */
export function base64ToHex(b64: string): string {
  let bits = 0;
  let acc = 0;
  let out = '';
  for (let k = 0; k < b64.length; k++) {
    const c = b64.charCodeAt(k);
    const v = c < 128 ? (B64_CODE[c] ?? -1) : -1;
    if (v < 0) continue;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += HEX[(acc >> bits) & 0xff] ?? '';
    }
  }
  return out;
}

/** Nanoseconds since the epoch (a decimal string, beyond 2^53) as float milliseconds. */
export function nanosToMs(ns: string): number {
  if (ns.length <= 6) return Number(ns) / 1e6;
  return Number(ns.slice(0, -6)) + Number(ns.slice(-6)) / 1e6;
}

export function anyValueText(v: Json | undefined): string {
  const o = obj(v);
  if ('stringValue' in o) return str(o['stringValue']);
  if ('intValue' in o) return str(o['intValue']);
  if ('doubleValue' in o) return str(o['doubleValue']);
  if ('boolValue' in o) return String(o['boolValue']);
  if ('bytesValue' in o) return base64ToHex(str(o['bytesValue']));
  if ('arrayValue' in o) return JSON.stringify(arr(obj(o['arrayValue'])['values']).map(anyValueJson));
  if ('kvlistValue' in o) {
    const m: Record<string, unknown> = {};
    for (const kv of arr(obj(o['kvlistValue'])['values'])) m[str(obj(kv)['key'])] = anyValueJson(obj(kv)['value']);
    return JSON.stringify(m);
  }
  return '';
}

function anyValueJson(v: Json | undefined): unknown {
  const o = obj(v);
  if ('intValue' in o) return Number(str(o['intValue']));
  if ('doubleValue' in o) return o['doubleValue'];
  if ('boolValue' in o) return o['boolValue'];
  if ('stringValue' in o) return o['stringValue'];
  return anyValueText(v);
}

function attrs(list: Json | undefined): Attr[] {
  return arr(list).map((kv) => ({ key: str(obj(kv)['key']), value: anyValueText(obj(kv)['value']) }));
}

const STATUS: Record<string, UiSpan['statusCode']> = { STATUS_CODE_OK: 'ok', STATUS_CODE_ERROR: 'error', '1': 'ok', '2': 'error' };

function kindName(k: string): string {
  const n = k.replace(/^SPAN_KIND_/, '').toLowerCase();
  return n === '' || n === 'unspecified' ? 'unspecified' : n;
}

/** Builds the model from the v2 answer ({trace:{resourceSpans}}) or a v1 one ({batches}). */
export function buildTraceModel(traceId: string, answer: unknown): TraceModel {
  const root = obj(answer as Json);
  const rs = root['trace'] !== undefined ? arr(obj(root['trace'])['resourceSpans']) : arr(root['batches'] ?? root['resourceSpans']);
  const spans: UiSpan[] = [];
  for (const r of rs) {
    const resource = attrs(obj(obj(r)['resource'])['attributes']);
    const service = resource.find((a) => a.key === 'service.name')?.value ?? '<no service>';
    for (const ss of arr(obj(r)['scopeSpans'] ?? obj(r)['instrumentationLibrarySpans'])) {
      const scope = obj(obj(ss)['scope'] ?? obj(ss)['instrumentationLibrary']);
      const scopeAttributes = attrs(scope['attributes']);
      for (const sv of arr(obj(ss)['spans'])) {
        const s = obj(sv);
        const startMs = nanosToMs(str(s['startTimeUnixNano']) || '0');
        const endMs = Math.max(startMs, nanosToMs(str(s['endTimeUnixNano']) || '0'));
        const status = obj(s['status']);
        spans.push(
          new SpanRecord(s, {
            index: spans.length,
            spanId: base64ToHex(str(s['spanId'])),
            parentSpanId: base64ToHex(str(s['parentSpanId'])),
            name: str(s['name']),
            kind: kindName(str(s['kind'])),
            service,
            startMs,
            endMs,
            durationMs: endMs - startMs,
            statusCode: STATUS[str(status['code'])] ?? 'unset',
            statusMessage: str(status['message']),
            resource,
            scopeName: str(scope['name']),
            scopeVersion: str(scope['version']),
            scopeAttributes,
          }),
        );
      }
    }
  }
  const model = linkTree(traceId, spans);
  markCriticalPath(model);
  return model;
}

type Eager = Omit<UiSpan, 'attributes' | 'events' | 'links' | 'parent' | 'depth' | 'children' | 'critical'>;

/**
 * A span whose attributes, events and links are decoded from its JSON only when first read (the
 * details panel, find): a 50,000-span trace then costs one small object per span to open.
 */
class SpanRecord implements UiSpan {
  readonly index: number;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: string;
  readonly service: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly durationMs: number;
  readonly statusCode: UiSpan['statusCode'];
  readonly statusMessage: string;
  readonly resource: readonly Attr[];
  readonly scopeName: string;
  readonly scopeVersion: string;
  readonly scopeAttributes: readonly Attr[];
  parent = -1;
  depth = 0;
  children: number[] = [];
  critical = false;
  #raw: Obj;
  #attributes: Attr[] | undefined;
  #events: UiEvent[] | undefined;
  #links: UiLink[] | undefined;

  constructor(raw: Obj, e: Eager) {
    this.#raw = raw;
    this.index = e.index;
    this.spanId = e.spanId;
    this.parentSpanId = e.parentSpanId;
    this.name = e.name;
    this.kind = e.kind;
    this.service = e.service;
    this.startMs = e.startMs;
    this.endMs = e.endMs;
    this.durationMs = e.durationMs;
    this.statusCode = e.statusCode;
    this.statusMessage = e.statusMessage;
    this.resource = e.resource;
    this.scopeName = e.scopeName;
    this.scopeVersion = e.scopeVersion;
    this.scopeAttributes = e.scopeAttributes;
  }

  get attributes(): readonly Attr[] {
    return (this.#attributes ??= attrs(this.#raw['attributes']));
  }

  get events(): readonly UiEvent[] {
    return (this.#events ??= arr(this.#raw['events']).map((e) => ({
      name: str(obj(e)['name']),
      timeMs: nanosToMs(str(obj(e)['timeUnixNano']) || '0'),
      attributes: attrs(obj(e)['attributes']),
    })));
  }

  get links(): readonly UiLink[] {
    return (this.#links ??= arr(this.#raw['links']).map((l) => ({
      traceId: base64ToHex(str(obj(l)['traceId'])),
      spanId: base64ToHex(str(obj(l)['spanId'])),
      attributes: attrs(obj(l)['attributes']),
    })));
  }
}

/**
 * Links decoded spans (index = position) into the tree: parents, children by start, depths, order.
 * `parentOf` (from the protobuf decoder: parent index, -1 none, -2 not in the trace) saves the
 * look-up of every parent by its hex ID.
 */
export function linkTree(traceId: string, spans: UiSpan[], parentOf?: Int32Array): TraceModel {
  let parents = parentOf;
  if (parents === undefined) {
    const byId = new Map<string, number>();
    for (const s of spans) if (!byId.has(s.spanId)) byId.set(s.spanId, s.index);
    parents = new Int32Array(spans.length);
    for (const s of spans) parents[s.index] = s.parentSpanId === '' ? -1 : (byId.get(s.parentSpanId) ?? -2);
  }
  const roots: number[] = [];
  let orphanCount = 0;
  for (const s of spans) {
    const p = parents[s.index] ?? -1;
    const ps = p >= 0 && p !== s.index ? spans[p] : undefined;
    if (ps !== undefined) {
      s.parent = p;
      // Leaves may share one frozen empty array until they get a child.
      if (ps.children.length === 0) ps.children = [s.index];
      else ps.children.push(s.index);
    } else {
      if (p !== -1) orphanCount++;
      roots.push(s.index);
    }
  }
  // Sort keys in a typed array: the comparator runs ~10 times per span, a getter call each time adds up.
  const start = new Float64Array(spans.length);
  for (const s of spans) start[s.index] = s.startMs;
  const byStart = (a: number, b: number): number => (start[a] ?? 0) - (start[b] ?? 0);
  roots.sort(byStart);
  for (const s of spans) if (s.children.length > 1 && !ascending(s.children, start)) s.children.sort(byStart);

  // Iterative depth-first walk: a deep chain must not overflow the stack; `seen` breaks parent cycles.
  const order: number[] = [];
  const seen = new Uint8Array(spans.length);
  const stack: number[] = [];
  for (let r = roots.length - 1; r >= 0; r--) stack.push(roots[r] ?? 0);
  while (stack.length > 0) {
    const i = stack.pop() ?? 0;
    const s = spans[i];
    if (s === undefined || seen[i] === 1) continue;
    seen[i] = 1;
    s.depth = s.parent >= 0 ? (spans[s.parent]?.depth ?? 0) + 1 : 0;
    order.push(i);
    for (let c = s.children.length - 1; c >= 0; c--) stack.push(s.children[c] ?? 0);
  }
  // Spans caught in a parent cycle were never reached from a root: show them as roots too.
  for (const s of spans) {
    if (seen[s.index] === 0) {
      seen[s.index] = 1;
      s.parent = -1;
      s.children = [];
      roots.push(s.index);
      order.push(s.index);
    }
  }

  const services: string[] = [];
  const known = new Set<string>();
  for (const i of order) {
    const svc = spans[i]?.service ?? '';
    if (!known.has(svc)) {
      known.add(svc);
      services.push(svc);
    }
  }
  let startMs = Infinity;
  let endMs = -Infinity;
  let errorCount = 0;
  for (const s of spans) {
    startMs = Math.min(startMs, s.startMs);
    endMs = Math.max(endMs, s.endMs);
    if (s.statusCode === 'error') errorCount++;
  }
  if (spans.length === 0) startMs = endMs = 0;
  return { traceId, spans, roots, startMs, endMs, services, order, errorCount, orphanCount };
}

function ascending(list: readonly number[], key: Float64Array): boolean {
  for (let k = 1; k < list.length; k++) if ((key[list[k - 1] ?? 0] ?? 0) > (key[list[k] ?? 0] ?? 0)) return false;
  return true;
}

/**
 * Marks the spans on the critical path: from each root, walking back from its end, the child that
 * finished last before the cursor is what the parent waited for; the cursor then moves to that
 * child's start. Children that outlive their parent (async work) are cut at the parent's end.
 */
export function markCriticalPath(model: TraceModel): void {
  const { spans } = model;
  // The longest root stands for the trace; other roots (orphans) are not on its path.
  let best = -1;
  for (const r of model.roots) if (best < 0 || (spans[r]?.durationMs ?? 0) > (spans[best]?.durationMs ?? 0)) best = r;
  if (best < 0) return;
  const end = new Float64Array(spans.length);
  for (const s of spans) end[s.index] = s.endMs;
  const work: Array<[number, number]> = [[best, spans[best]?.endMs ?? 0]];
  while (work.length > 0) {
    const [i, until] = work.pop() ?? [0, 0];
    const s = spans[i];
    if (s === undefined || s.critical) continue;
    s.critical = true;
    let cursor = Math.min(s.endMs, until);
    const kids = [...s.children].sort((a, b) => (end[b] ?? 0) - (end[a] ?? 0));
    for (const c of kids) {
      const k = spans[c];
      if (k === undefined || k.startMs >= cursor) continue;
      work.push([c, Math.min(k.endMs, cursor)]);
      cursor = k.startMs;
      if (cursor <= s.startMs) break;
    }
  }
}

/** The rows shown when the spans in `collapsed` hide their subtrees, in tree order. */
export function visibleRows(model: TraceModel, collapsed: ReadonlySet<number>): number[] {
  if (collapsed.size === 0) return model.order;
  const out: number[] = [];
  let hideBelow = -1;
  for (const i of model.order) {
    const s = model.spans[i];
    if (s === undefined) continue;
    if (hideBelow >= 0) {
      if (s.depth > hideBelow) continue;
      hideBelow = -1;
    }
    out.push(i);
    if (collapsed.has(i) && s.children.length > 0) hideBelow = s.depth;
  }
  return out;
}

/** Spans whose name, service, ID or any attribute key or value contains `text` (case-insensitive). */
export function findSpans(model: TraceModel, text: string): number[] {
  const q = text.trim().toLowerCase();
  if (q === '') return [];
  const hit = (a: readonly Attr[]): boolean => a.some((x) => x.key.toLowerCase().includes(q) || x.value.toLowerCase().includes(q));
  return model.order.filter((i) => {
    const s = model.spans[i];
    if (s === undefined) return false;
    return (
      s.name.toLowerCase().includes(q) ||
      s.service.toLowerCase().includes(q) ||
      s.spanId.includes(q) ||
      s.statusMessage.toLowerCase().includes(q) ||
      hit(s.attributes) ||
      hit(s.resource) ||
      s.events.some((e) => e.name.toLowerCase().includes(q) || hit(e.attributes))
    );
  });
}

/** One line of a structural comparison: spans grouped by their service:name path from the root. */
export interface CompareRow {
  readonly path: string;
  readonly depth: number;
  readonly label: string;
  readonly countA: number;
  readonly countB: number;
  readonly durationA: number;
  readonly durationB: number;
}

/** Compares two traces by structure (service:name paths) and total duration at each path. */
export function compareTraces(a: TraceModel, b: TraceModel): CompareRow[] {
  const rows = new Map<string, { depth: number; label: string; countA: number; countB: number; durationA: number; durationB: number }>();
  const order: string[] = [];
  const add = (m: TraceModel, side: 'A' | 'B'): void => {
    const paths: string[] = new Array<string>(m.spans.length);
    for (const i of m.order) {
      const s = m.spans[i];
      if (s === undefined) continue;
      const label = `${s.service}: ${s.name}`;
      const path = s.parent >= 0 ? `${paths[s.parent] ?? ''}\u0000${label}` : label;
      paths[i] = path;
      let r = rows.get(path);
      if (r === undefined) {
        r = { depth: s.depth, label, countA: 0, countB: 0, durationA: 0, durationB: 0 };
        rows.set(path, r);
        order.push(path);
      }
      if (side === 'A') {
        r.countA++;
        r.durationA += s.durationMs;
      } else {
        r.countB++;
        r.durationB += s.durationMs;
      }
    }
  };
  add(a, 'A');
  add(b, 'B');
  // Paths only in B sort after A's siblings: order by path so children follow their parents.
  order.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  return order.map((path) => ({ path, ...(rows.get(path) ?? { depth: 0, label: '', countA: 0, countB: 0, durationA: 0, durationB: 0 }) }));
}

/** 1.2 s, 34.5 ms, 120 µs. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '';
  if (ms >= 60_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 1) return `${ms.toFixed(ms >= 100 ? 0 : ms >= 10 ? 1 : 2)} ms`;
  return `${Math.round(ms * 1000)} µs`;
}
