/**
 * The trace view: header and service legend, search inside the trace, JSON download, critical path,
 * a virtualised waterfall (only the rows in view are in the DOM, so 50,000 spans scroll like 50) with
 * a collapsible span tree driven from the keyboard, and the selected span's details.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { getBytes, getText, query } from './api';
import { href, navigate } from './router';
import { findSpans, formatDuration, linkTree, markCriticalPath, visibleRows, type Attr, type TraceModel, type UiSpan } from './model/trace-model';
import { decodeTraceByIdResponse } from './model/trace-proto';

const ROW_H = 24;
const OVERSCAN = 8;

/**
 * Phases of the last trace shown, in ms, read by the browser test and bench:ui (reported, never
 * asserted): the answer's bytes in, protobuf decoded to spans, tree linked, rows painted (total from
 * the request, sinceNavigation from the page's navigation start), then the critical path marked.
 */
export interface RenderTimings {
  spans: number;
  bytes: number;
  fetchMs: number;
  decodeMs: number;
  treeMs: number;
  criticalMs: number;
  renderMs: number;
  totalMs: number;
  /** When the trace request went out, from the page's navigation start. */
  requestStartMs: number;
  sinceNavigationMs: number;
}

declare global {
  interface Window {
    __rubatoRender?: RenderTimings;
  }
}

let prefetched: { id: string; at: number; answer: Promise<Uint8Array> } | undefined;

/**
 * Starts a trace page's request as the app starts, before the first render: the view's own effect
 * would only run after the "Loading" frame is painted, one frame or more later on a busy machine.
 */
export function prefetchTrace(traceId: string): void {
  const answer = getBytes(`api/v2/traces/${encodeURIComponent(traceId)}`);
  // Marked handled here (the view that takes it shows the error to the user).
  answer.catch((err: unknown) => console.debug('trace prefetch failed', err));
  prefetched = { id: traceId, at: performance.now(), answer };
}

function takePrefetch(traceId: string): { at: number; answer: Promise<Uint8Array> } | undefined {
  const p = prefetched;
  prefetched = undefined;
  return p !== undefined && p.id === traceId ? p : undefined;
}

/** The trace as protobuf (a third of the JSON's size, and no JSON.parse), decoded to span records. */
export async function fetchTraceModel(traceId: string, signal?: AbortSignal): Promise<TraceModel> {
  const { spans, parentOf } = decodeTraceByIdResponse(await getBytes(`api/v2/traces/${encodeURIComponent(traceId)}`, signal));
  return linkTree(traceId, spans, parentOf);
}

export function serviceColour(i: number): string {
  // Golden-angle hues keep neighbouring services apart however many there are.
  // The first hue is blue: red is kept for errors.
  return `hsl(${Math.round((210 + i * 137.508) % 360)} 60% 45%)`;
}

/** `spanId` (hex, from ?span=) picks the span shown first, e.g. a matched span from search. */
export function TracePage({ traceId, spanId }: { traceId: string; spanId: string }) {
  const [model, setModel] = useState<TraceModel | null>(null);
  const [error, setError] = useState('');
  const [criticalReady, setCriticalReady] = useState(false);
  const t0 = useRef(performance.now());
  const timings = useRef<Partial<RenderTimings>>({});

  useEffect(() => {
    const ac = new AbortController();
    const early = takePrefetch(traceId);
    t0.current = early?.at ?? performance.now();
    (early?.answer ?? getBytes(`api/v2/traces/${encodeURIComponent(traceId)}`, ac.signal))
      .then((bytes) => {
        const t1 = performance.now();
        const { spans, parentOf } = decodeTraceByIdResponse(bytes);
        const t2 = performance.now();
        const m = linkTree(traceId, spans, parentOf);
        const t3 = performance.now();
        timings.current = { spans: spans.length, bytes: bytes.length, fetchMs: t1 - t0.current, decodeMs: t2 - t1, treeMs: t3 - t2 };
        setModel(m);
      })
      .catch((err: unknown) => {
        if (ac.signal.aborted) return;
        setError(err instanceof Error ? err.message : String(err));
      });
    return () => ac.abort();
  }, [traceId]);

  useEffect(() => {
    if (model === null) return;
    const before = performance.now();
    // Two frames: the first runs before paint, the second after the rows are on screen.
    requestAnimationFrame(() =>
      requestAnimationFrame(() => {
        const now = performance.now();
        // The critical path is drawn only when asked for: it is worked out after the first paint.
        markCriticalPath(model);
        const criticalMs = performance.now() - now;
        setCriticalReady(true);
        window.__rubatoRender = {
          spans: model.spans.length,
          bytes: timings.current.bytes ?? 0,
          fetchMs: timings.current.fetchMs ?? 0,
          decodeMs: timings.current.decodeMs ?? 0,
          treeMs: timings.current.treeMs ?? 0,
          criticalMs,
          renderMs: now - before,
          totalMs: now - t0.current,
          requestStartMs: t0.current,
          sinceNavigationMs: now,
        };
        document.body.dataset['traceRendered'] = traceId;
      }),
    );
  }, [model]);

  if (error !== '') {
    return (
      <section>
        <h1>Trace {traceId}</h1>
        <p class="error" role="alert">
          {error}
        </p>
      </section>
    );
  }
  if (model === null) return <p aria-live="polite">Loading trace {traceId}…</p>;
  return <TraceBody model={model} spanId={spanId} criticalReady={criticalReady} />;
}

function TraceBody({ model, spanId, criticalReady }: { model: TraceModel; spanId: string; criticalReady: boolean }) {
  const [collapsed, setCollapsed] = useState<Set<number>>(new Set());
  const [focus, setFocus] = useState(() => {
    const asked = spanId === '' ? undefined : model.spans.find((s) => s.spanId === spanId.toLowerCase());
    return asked?.index ?? model.order[0] ?? 0;
  });
  const [find, setFind] = useState('');
  const [matchAt, setMatchAt] = useState(0);
  const [critical, setCritical] = useState(false);
  const [other, setOther] = useState('');
  const [downloadError, setDownloadError] = useState('');
  const rows = useMemo(() => visibleRows(model, collapsed), [model, collapsed]);
  const matches = useMemo(() => findSpans(model, find), [model, find]);
  const matchSet = useMemo(() => new Set(matches), [matches]);
  const root = model.spans[model.roots[0] ?? 0];
  const total = Math.max(model.endMs - model.startMs, 1e-6);

  function reveal(i: number): void {
    // Opens every collapsed ancestor so the span has a row.
    let p = model.spans[i]?.parent ?? -1;
    const next = new Set(collapsed);
    let changed = false;
    while (p >= 0) {
      if (next.delete(p)) changed = true;
      p = model.spans[p]?.parent ?? -1;
    }
    if (changed) setCollapsed(next);
    setFocus(i);
  }

  function jump(delta: number): void {
    if (matches.length === 0) return;
    const k = (matchAt + delta + matches.length) % matches.length;
    setMatchAt(k);
    reveal(matches[k] ?? 0);
  }

  // The view works from protobuf; the download is Tempo's JSON answer, fetched when asked for.
  async function download(): Promise<void> {
    let raw: string;
    try {
      raw = await getText(`api/v2/traces/${encodeURIComponent(model.traceId)}`);
    } catch (err) {
      setDownloadError(err instanceof Error ? err.message : String(err));
      return;
    }
    setDownloadError('');
    const url = URL.createObjectURL(new Blob([raw], { type: 'application/json' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `trace-${model.traceId}.json`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  const selected = model.spans[focus];
  return (
    <section class="trace" aria-labelledby="trace-h">
      <div class="trace-head">
        <h1 id="trace-h">
          {root !== undefined ? `${root.service}: ${root.name}` : 'Empty trace'} <span class="mono dim">{model.traceId}</span>
        </h1>
        <p class="facts">
          <span>Duration {formatDuration(model.endMs - model.startMs)}</span>
          <span>{model.spans.length} spans</span>
          <span>{model.services.length} services</span>
          <span class={model.errorCount > 0 ? 'err' : ''}>{model.errorCount} errors</span>
          <span>Started {new Date(model.startMs).toLocaleString()}</span>
          {model.orphanCount > 0 && <span>{model.orphanCount} spans with a missing parent</span>}
        </p>
        <ul class="legend" aria-label="Services">
          {model.services.map((s, i) => (
            <li key={s}>
              <span class="swatch" style={{ background: serviceColour(i) }} />
              {s}
            </li>
          ))}
        </ul>
        <div class="tools">
          <label>
            Find in trace
            <input
              type="search"
              value={find}
              onInput={(e) => {
                setFind(e.currentTarget.value);
                setMatchAt(0);
              }}
              onKeyDown={(e) => {
                if (e.key === 'Enter') {
                  e.preventDefault();
                  jump(e.shiftKey ? -1 : 1);
                }
              }}
              placeholder="name, service, attribute"
            />
          </label>
          <span class="matches" aria-live="polite">
            {find.trim() === '' ? '' : `${matches.length === 0 ? 0 : matchAt + 1} of ${matches.length} matching spans`}
          </span>
          <button type="button" onClick={() => jump(-1)} disabled={matches.length === 0} aria-label="Previous match">
            ↑
          </button>
          <button type="button" onClick={() => jump(1)} disabled={matches.length === 0} aria-label="Next match">
            ↓
          </button>
          <label class="check">
            <input type="checkbox" checked={critical} disabled={!criticalReady} onChange={(e) => setCritical(e.currentTarget.checked)} />
            Critical path
          </label>
          <button type="button" onClick={() => setCollapsed(new Set())}>
            Expand all
          </button>
          <button type="button" onClick={() => setCollapsed(new Set(model.spans.filter((s) => s.children.length > 0 && s.depth >= 1).map((s) => s.index)))}>
            Collapse below root
          </button>
          <button type="button" onClick={() => void download()}>
            Download JSON
          </button>
          {downloadError !== '' && (
            <span class="error" role="alert">
              Download failed: {downloadError}
            </span>
          )}
          <form
            class="inline"
            onSubmit={(e) => {
              e.preventDefault();
              if (other.trim() !== '') navigate(`compare${query({ a: model.traceId, b: other.trim() })}`);
            }}
          >
            <label>
              Compare with <input value={other} onInput={(e) => setOther(e.currentTarget.value)} placeholder="trace ID" size={20} />
            </label>
          </form>
        </div>
      </div>
      <div class="trace-main">
        <Waterfall
          model={model}
          rows={rows}
          total={total}
          focus={focus}
          setFocus={setFocus}
          collapsed={collapsed}
          setCollapsed={setCollapsed}
          matches={matchSet}
          critical={critical}
        />
        {selected !== undefined && <SpanDetails model={model} span={selected} />}
      </div>
    </section>
  );
}

interface WaterfallProps {
  model: TraceModel;
  rows: number[];
  total: number;
  focus: number;
  setFocus(i: number): void;
  collapsed: Set<number>;
  setCollapsed(s: Set<number>): void;
  matches: Set<number>;
  critical: boolean;
}

function Waterfall({ model, rows, total, focus, setFocus, collapsed, setCollapsed, matches, critical }: WaterfallProps) {
  const box = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const colour = useMemo(() => new Map(model.services.map((s, i) => [s, serviceColour(i)])), [model]);
  // Row number of each span (-1: hidden), a typed array: 50,000 entries cost a fraction of a Map's.
  const position = useMemo(() => {
    const p = new Int32Array(model.spans.length).fill(-1);
    for (let k = 0; k < rows.length; k++) p[rows[k] ?? 0] = k;
    return p;
  }, [rows]);

  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    setHeight(el.clientHeight);
    return () => ro.disconnect();
  }, []);

  // Keeps the focused row in view when the keyboard or find moves it.
  useEffect(() => {
    const el = box.current;
    const k = position[focus] ?? -1;
    if (el === null || k < 0) return;
    const top = k * ROW_H;
    const head = ROW_H;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_H + head > el.scrollTop + el.clientHeight) el.scrollTop = top + ROW_H + head - el.clientHeight;
  }, [focus, position]);

  function toggle(i: number, open?: boolean): void {
    const s = model.spans[i];
    if (s === undefined || s.children.length === 0) return;
    const next = new Set(collapsed);
    const isOpen = !next.has(i);
    if (open ?? !isOpen) next.delete(i);
    else next.add(i);
    setCollapsed(next);
  }

  function onKey(e: KeyboardEvent): void {
    const k = Math.max(0, position[focus] ?? 0);
    const s = model.spans[focus];
    const page = Math.max(1, Math.floor(height / ROW_H) - 1);
    const go = (n: number): void => setFocus(rows[Math.max(0, Math.min(rows.length - 1, n))] ?? focus);
    switch (e.key) {
      case 'ArrowDown':
        go(k + 1);
        break;
      case 'ArrowUp':
        go(k - 1);
        break;
      case 'PageDown':
        go(k + page);
        break;
      case 'PageUp':
        go(k - page);
        break;
      case 'Home':
        go(0);
        break;
      case 'End':
        go(rows.length - 1);
        break;
      case 'ArrowRight':
        if (s !== undefined && s.children.length > 0) {
          if (collapsed.has(focus)) toggle(focus, true);
          else go(k + 1);
        }
        break;
      case 'ArrowLeft':
        if (s !== undefined && s.children.length > 0 && !collapsed.has(focus)) toggle(focus, false);
        else if (s !== undefined && s.parent >= 0) setFocus(s.parent);
        break;
      case 'Enter':
      case ' ':
        toggle(focus);
        break;
      default:
        return;
    }
    e.preventDefault();
  }

  const first = Math.max(0, Math.floor(scrollTop / ROW_H) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + height) / ROW_H) + OVERSCAN);
  const shown: UiSpan[] = [];
  for (let k = first; k < last; k++) {
    const s = model.spans[rows[k] ?? -1];
    if (s !== undefined) shown.push(s);
  }
  return (
    <div
      ref={box}
      class="waterfall"
      role="tree"
      tabIndex={0}
      aria-label="Span waterfall"
      aria-activedescendant={`span-${focus}`}
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      onKeyDown={onKey}
    >
      <div class="wf-head" aria-hidden="true">
        <span>Service and span</span>
        <span class="ticks">
          {[0, 0.25, 0.5, 0.75, 1].map((f) => (
            <span key={f} style={{ left: `${f * 100}%` }}>
              {formatDuration(f * total)}
            </span>
          ))}
        </span>
      </div>
      <div class="wf-body" style={{ height: `${rows.length * ROW_H}px` }}>
        {shown.map((s) => {
          const k = position[s.index] ?? 0;
          const left = ((s.startMs - model.startMs) / total) * 100;
          const width = Math.max((s.durationMs / total) * 100, 0.15);
          const hasKids = s.children.length > 0;
          const open = hasKids && !collapsed.has(s.index);
          const cls = [
            'wf-row',
            s.index === focus ? 'focused' : '',
            matches.has(s.index) ? 'match' : '',
            s.statusCode === 'error' ? 'error' : '',
            critical && !s.critical ? 'dimmed' : '',
          ].join(' ');
          return (
            <div
              key={s.index}
              id={`span-${s.index}`}
              role="treeitem"
              aria-level={s.depth + 1}
              aria-expanded={hasKids ? open : undefined}
              aria-selected={s.index === focus}
              aria-label={`${s.service} ${s.name}, ${formatDuration(s.durationMs)}${s.statusCode === 'error' ? ', error' : ''}`}
              class={cls}
              style={{ top: `${k * ROW_H}px` }}
              onClick={() => setFocus(s.index)}
            >
              <span class="wf-name" style={{ paddingLeft: `${Math.min(s.depth, 40) * 12 + 4}px` }}>
                <button
                  type="button"
                  tabIndex={-1}
                  class="twisty"
                  aria-hidden="true"
                  style={{ visibility: hasKids ? 'visible' : 'hidden' }}
                  onClick={(e) => {
                    e.stopPropagation();
                    toggle(s.index);
                  }}
                >
                  {open ? '▾' : '▸'}
                </button>
                <span class="swatch" style={{ background: colour.get(s.service) }} />
                <span class="svc">{s.service}</span> <span class="op">{s.name}</span>
                {s.statusCode === 'error' && <span class="err-badge">!</span>}
                {hasKids && !open && <span class="count">{s.children.length}</span>}
              </span>
              <span class="wf-time">
                <span
                  class={`bar${critical && s.critical ? ' crit' : ''}`}
                  style={{ left: `${left}%`, width: `${width}%`, background: colour.get(s.service) }}
                />
                {s.events.map((e, n) => (
                  <span key={n} class="evt" aria-hidden="true" title={e.name} style={{ left: `${((e.timeMs - model.startMs) / total) * 100}%` }} />
                ))}
                <span class="dur" style={{ left: `${Math.min(left + width, 92)}%` }}>
                  {formatDuration(s.durationMs)}
                </span>
              </span>
            </div>
          );
        })}
      </div>
    </div>
  );
}

function AttrTable({ title, attrs }: { title: string; attrs: readonly Attr[] }) {
  if (attrs.length === 0) return null;
  return (
    <div class="attrs">
      <h3>{title}</h3>
      <table aria-label={title}>
        <tbody>
          {attrs.map((a, i) => (
            <tr key={`${a.key}-${i}`}>
              <th scope="row">{a.key}</th>
              <td>{a.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function SpanDetails({ model, span }: { model: TraceModel; span: UiSpan }) {
  const parent = model.spans[span.parent];
  const callees = [...new Set(span.children.map((c) => model.spans[c]?.service ?? ''))].filter((s) => s !== span.service);
  return (
    <aside class="details" aria-label="Span details">
      <h2>{span.name || '(no name)'}</h2>
      <dl class="facts-list">
        <dt>Service</dt>
        <dd>{span.service}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(span.durationMs)}</dd>
        <dt>Start</dt>
        <dd>+{formatDuration(span.startMs - model.startMs)}</dd>
        <dt>Kind</dt>
        <dd>{span.kind}</dd>
        <dt>Status</dt>
        <dd class={span.statusCode === 'error' ? 'err' : ''}>
          {span.statusCode}
          {span.statusMessage !== '' ? `: ${span.statusMessage}` : ''}
        </dd>
        <dt>Span ID</dt>
        <dd class="mono">{span.spanId}</dd>
        {parent !== undefined && (
          <>
            <dt>Called by</dt>
            <dd>
              {parent.service}: {parent.name}
            </dd>
          </>
        )}
        {callees.length > 0 && (
          <>
            <dt>Calls services</dt>
            <dd>{callees.join(', ')}</dd>
          </>
        )}
        {span.critical && (
          <>
            <dt>Critical path</dt>
            <dd>on the critical path</dd>
          </>
        )}
      </dl>
      <AttrTable title="Span attributes" attrs={span.attributes} />
      <AttrTable title="Resource attributes" attrs={span.resource} />
      {(span.scopeName !== '' || span.scopeAttributes.length > 0) && (
        <div class="attrs">
          <h3>Instrumentation scope</h3>
          <p>
            {span.scopeName} {span.scopeVersion}
          </p>
          <AttrTable title="Scope attributes" attrs={span.scopeAttributes} />
        </div>
      )}
      {span.events.length > 0 && (
        <div class="attrs">
          <h3>Events</h3>
          <ul class="events" aria-label="Events">
            {span.events.map((e, i) => (
              <li key={i}>
                <strong>{e.name}</strong> at +{formatDuration(e.timeMs - span.startMs)}
                <AttrTable title={`Attributes of ${e.name}`} attrs={e.attributes} />
              </li>
            ))}
          </ul>
        </div>
      )}
      {span.links.length > 0 && (
        <div class="attrs">
          <h3>Links</h3>
          <ul class="links" aria-label="Links">
            {span.links.map((l, i) => (
              <li key={i}>
                <a class="mono" href={href(`trace/${l.traceId}`)}>
                  {l.traceId}
                </a>{' '}
                span <span class="mono">{l.spanId}</span>
                <AttrTable title="Link attributes" attrs={l.attributes} />
              </li>
            ))}
          </ul>
        </div>
      )}
    </aside>
  );
}
