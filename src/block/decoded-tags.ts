import type { AnyValue, KeyValue, Trace } from '../model/trace.js';
import type { TraceRecord } from '../model/trace-record.js';
import { decodeTrace } from '../otlp/trace-decode.js';
import { buildEvalTrace, type CompiledQuery } from '../traceql/index.js';
import type { AttributeTagScope, TagRef, TypedValue } from './block.js';

/**
 * Tag names and values of blocks that hold encoded traces rather than columns (head blocks): the
 * traces are decoded and, with `q`, evaluated so only matching spans count (head blocks answer
 * requests without `q` from their tag index, built with `tagsOfTrace` below). Tag lists are for
 * autocomplete, and decoding a whole 500 MB head block per keystroke would not be: at most
 * MAX_SCAN_BYTES are decoded per request, and the event loop gets a turn every few ms.
 */

/** Most encoded data one tag request decodes (about 90k spans). */
const MAX_SCAN_BYTES = 32 * 1024 * 1024;
/** Longest stretch of scanning before other work gets a turn. */
const YIELD_EVERY_MS = 10;

interface DecodedTrace {
  readonly trace: Trace;
  /** Span IDs (hex) the query matched; null without a query. */
  readonly matched: Set<string> | null;
  readonly rootName: string;
  readonly rootServiceName: string;
}

async function* decoded(traces: Iterable<TraceRecord>, run: CompiledQuery | null, signal?: AbortSignal): AsyncGenerator<DecodedTrace> {
  let scanned = 0;
  let slice = performance.now();
  for (const rec of traces) {
    scanned += rec.trace.byteLength;
    if (scanned > MAX_SCAN_BYTES) break;
    if (performance.now() - slice > YIELD_EVERY_MS) {
      await new Promise((r) => setImmediate(r));
      signal?.throwIfAborted();
      slice = performance.now();
    }
    const trace = decodeTrace(rec.trace);
    const ev = buildEvalTrace(trace);
    let matched: Set<string> | null = null;
    if (run !== null) {
      matched = new Set();
      for (const ss of run(ev)) for (const s of ss.spans) matched.add(s.spanId);
      if (matched.size === 0) continue;
    }
    yield { trace, matched, rootName: ev.rootName, rootServiceName: ev.rootServiceName };
  }
}

export async function decodedTagNames(
  traces: Iterable<TraceRecord>,
  scopes: readonly AttributeTagScope[],
  run: CompiledQuery | null,
  signal?: AbortSignal,
): Promise<Map<AttributeTagScope, Set<string>>> {
  const found = new Map<AttributeTagScope, Set<string>>(scopes.map((s) => [s, new Set<string>()]));
  const add = (scope: AttributeTagScope, key: string): void => {
    found.get(scope)?.add(key);
  };
  for await (const { trace, matched } of decoded(traces, run, signal)) {
    for (const rs of trace.resourceSpans) {
      let any = false;
      for (const ss of rs.scopeSpans) {
        let scopeUsed = false;
        for (const s of ss.spans) {
          if (matched !== null && !matched.has(hex(s.spanId))) continue;
          any = scopeUsed = true;
          for (const kv of s.attributes) add('span', kv.key);
          for (const e of s.events) for (const kv of e.attributes) add('event', kv.key);
          for (const l of s.links) for (const kv of l.attributes) add('link', kv.key);
        }
        if (scopeUsed) for (const kv of ss.scope.attributes) add('instrumentation', kv.key);
      }
      if (any) for (const kv of rs.resource.attributes) add('resource', kv.key);
    }
  }
  return found;
}

export async function decodedTagValues(traces: Iterable<TraceRecord>, tag: TagRef, run: CompiledQuery | null, signal?: AbortSignal): Promise<TypedValue[]> {
  const out = new Map<string, TypedValue>();
  const add = (v: TypedValue): void => {
    out.set(`${v.type}\u0000${v.value}`, v);
  };
  for await (const d of decoded(traces, run, signal)) valuesOfTrace(d, tag, add);
  return [...out.values()];
}

function valuesOfTrace({ trace, matched, rootName, rootServiceName }: DecodedTrace, tag: TagRef, add: (v: TypedValue) => void): void {
  const str = (v: string): void => {
    if (v !== '') add({ type: 'string', value: v });
  };
  if (tag.kind === 'intrinsic' && (tag.name === 'rootName' || tag.name === 'rootServiceName')) {
    str(tag.name === 'rootName' ? rootName : rootServiceName);
    return;
  }
  for (const rs of trace.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        if (matched !== null && !matched.has(hex(s.spanId))) continue;
        if (tag.kind === 'intrinsic') {
          if (tag.name === 'name') str(s.name);
          else if (tag.name === 'statusMessage') str(s.status.message);
          else if (tag.name === 'instrumentationName') str(ss.scope.name);
          else if (tag.name === 'instrumentationVersion') str(ss.scope.version);
          else if (tag.name === 'eventName') for (const e of s.events) str(e.name);
          continue;
        }
        switch (tag.scope) {
          case 'span':
            valuesOf(s.attributes, tag.key, add);
            break;
          case 'resource':
            valuesOf(rs.resource.attributes, tag.key, add);
            break;
          case 'none':
            if (!valuesOf(s.attributes, tag.key, add)) valuesOf(rs.resource.attributes, tag.key, add);
            break;
          case 'event':
            for (const e of s.events) valuesOf(e.attributes, tag.key, add);
            break;
          case 'link':
            for (const l of s.links) valuesOf(l.attributes, tag.key, add);
            break;
          case 'instrumentation':
            valuesOf(ss.scope.attributes, tag.key, add);
            break;
        }
      }
    }
  }
}

function typed(v: AnyValue): TypedValue | null {
  if ('stringValue' in v) return { type: 'string', value: v.stringValue };
  if ('intValue' in v) return { type: 'int', value: v.intValue.toString() };
  if ('doubleValue' in v) return { type: 'float', value: String(v.doubleValue) };
  if ('boolValue' in v) return { type: 'bool', value: String(v.boolValue) };
  return null;
}

function valuesOf(kvs: readonly KeyValue[], key: string, add: (v: TypedValue) => void): boolean {
  let hit = false;
  for (const kv of kvs) {
    if (kv.key !== key) continue;
    const t = typed(kv.value);
    if (t !== null) {
      add(t);
      hit = true;
    }
  }
  return hit;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/**
 * Every tag name and value of one decoded trace (or one part of it), for indexes kept as data
 * arrives (the head block's tag index). Values are filed under `valueKeysOf`'s keys; the root
 * intrinsics count only spans without a parent.
 */
export interface TagSink {
  name(scope: AttributeTagScope, key: string): void;
  value(valueKey: string, v: TypedValue): void;
}

export function tagsOfTrace(trace: Trace, sink: TagSink): void {
  const attrs = (scope: AttributeTagScope, kvs: readonly KeyValue[]): void => {
    for (const kv of kvs) {
      sink.name(scope, kv.key);
      const t = typed(kv.value);
      if (t !== null) sink.value(attributeKey(scope, kv.key), t);
    }
  };
  const str = (name: string, v: string): void => {
    if (v !== '') sink.value(intrinsicKey(name), { type: 'string', value: v });
  };
  for (const rs of trace.resourceSpans) {
    attrs('resource', rs.resource.attributes);
    let service = '';
    for (const kv of rs.resource.attributes) if (kv.key === 'service.name' && 'stringValue' in kv.value) service = kv.value.stringValue;
    for (const ss of rs.scopeSpans) {
      attrs('instrumentation', ss.scope.attributes);
      str('instrumentationName', ss.scope.name);
      str('instrumentationVersion', ss.scope.version);
      for (const s of ss.spans) {
        attrs('span', s.attributes);
        str('name', s.name);
        str('statusMessage', s.status.message);
        for (const e of s.events) {
          str('eventName', e.name);
          attrs('event', e.attributes);
        }
        for (const l of s.links) attrs('link', l.attributes);
        if (s.parentSpanId.byteLength === 0) {
          str('rootName', s.name);
          str('rootServiceName', service);
        }
      }
    }
  }
}

/** Where `tagsOfTrace` files a tag's values: an unscoped attribute is the span's and the resource's. */
export function valueKeysOf(tag: TagRef): string[] {
  if (tag.kind === 'intrinsic') return [intrinsicKey(tag.name)];
  if (tag.scope === 'none') return [attributeKey('span', tag.key), attributeKey('resource', tag.key)];
  return [attributeKey(tag.scope, tag.key)];
}

const attributeKey = (scope: AttributeTagScope, key: string): string => `a\u0000${scope}\u0000${key}`;
const intrinsicKey = (name: string): string => `i\u0000${name}`;
