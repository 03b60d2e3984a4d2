/**
 * Service map (`/services`) from rubato's own `/api/service-graph`, and a RED panel per service
 * (`/services/<name>`) from TraceQL metrics. Both are drawn as plain SVG: the graphs are small (tens of
 * services), so a layered layout of our own and hand-drawn line charts cost a few KB where a layout or
 * chart library would cost tens.
 */
import { useEffect, useState } from 'preact/hooks';
import { getJson, query } from './api';
import { href, navigate } from './router';

interface GraphNode {
  id: string;
  requestRate: number;
  errorRate: number;
  virtual: boolean;
}

interface GraphEdge {
  source: string;
  target: string;
  connectionType: string;
  requests: number;
  failed: number;
  requestRate: number;
  errorRate: number;
  latencyP50Seconds: number | null;
  latencyP90Seconds: number | null;
  latencyP99Seconds: number | null;
}

interface ServiceGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

const RANGES: Record<string, number> = { '15m': 900, '1h': 3600 };

const quote = (s: string): string => JSON.stringify(s);
const rate = (r: number): string => `${r < 10 ? r.toPrecision(2) : Math.round(r)}/s`;
const pct = (r: number): string => `${(r * 100).toFixed(r > 0 && r < 0.1 ? 1 : 0)}%`;
const secs = (s: number | null): string => (s === null ? '–' : s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(2)} s`);

function searchLink(q: string, range: string): string {
  return `search${query({ q, range })}`;
}

/** The search for an edge: a client span of the caller with the callee's server span under it. */
export function edgeQuery(e: GraphEdge, virtualTarget: boolean): string {
  if (e.source === 'user') return `{ resource.service.name = ${quote(e.target)} && kind = server }`;
  if (virtualTarget) {
    const peer = e.connectionType === 'database' ? 'span.db.name' : 'span.peer.service';
    return `{ resource.service.name = ${quote(e.source)} && kind = client && ${peer} = ${quote(e.target)} }`;
  }
  return `{ resource.service.name = ${quote(e.source)} && kind = client } > { resource.service.name = ${quote(e.target)} && kind = server }`;
}

interface Placed {
  node: GraphNode;
  x: number;
  y: number;
}

const NODE_W = 170;
const NODE_H = 54;
const COL_GAP = 200;
const ROW_GAP = 36;

/** Layers by longest path from the callers (cycles broken by visiting order), rows by their callers' rows. */
export function layout(g: ServiceGraph): { placed: Map<string, Placed>; width: number; height: number } {
  const out = new Map<string, string[]>();
  const indeg = new Map<string, number>();
  for (const n of g.nodes) {
    out.set(n.id, []);
    indeg.set(n.id, 0);
  }
  for (const e of g.edges) {
    if (e.source === e.target || !out.has(e.source) || !out.has(e.target)) continue;
    out.get(e.source)?.push(e.target);
    indeg.set(e.target, (indeg.get(e.target) ?? 0) + 1);
  }
  const layer = new Map<string, number>();
  // Kahn's order; whatever is left in a cycle is placed after its first visited caller.
  const queue = g.nodes.filter((n) => indeg.get(n.id) === 0).map((n) => n.id);
  for (const id of queue) layer.set(id, 0);
  const remaining = new Map(indeg);
  while (queue.length > 0) {
    const id = queue.shift() as string;
    for (const t of out.get(id) ?? []) {
      layer.set(t, Math.max(layer.get(t) ?? 0, (layer.get(id) ?? 0) + 1));
      const left = (remaining.get(t) ?? 1) - 1;
      remaining.set(t, left);
      if (left === 0) queue.push(t);
    }
  }
  for (const n of g.nodes) if (!layer.has(n.id)) layer.set(n.id, 0);
  const columns: GraphNode[][] = [];
  for (const n of [...g.nodes].sort((a, b) => a.id.localeCompare(b.id))) {
    const l = layer.get(n.id) ?? 0;
    (columns[l] ??= []).push(n);
  }
  // One barycentre pass: a column's nodes ordered by the mean row of their callers, which removes most
  // crossings in call graphs of this size (names break ties, so the drawing is stable).
  const row = new Map<string, number>();
  const callers = new Map<string, string[]>();
  for (const e of g.edges) if (e.source !== e.target) (callers.get(e.target) ?? callers.set(e.target, []).get(e.target))?.push(e.source);
  for (const col of columns) {
    if (col === undefined) continue;
    const mean = (id: string): number => {
      const rows = (callers.get(id) ?? []).map((c) => row.get(c)).filter((r): r is number => r !== undefined);
      return rows.length === 0 ? Number.POSITIVE_INFINITY : rows.reduce((a, b) => a + b, 0) / rows.length;
    };
    const keyed = col.map((n) => ({ n, m: mean(n.id) }));
    keyed.sort((a, b) => a.m - b.m || a.n.id.localeCompare(b.n.id));
    keyed.forEach(({ n }, i) => {
      col[i] = n;
      row.set(n.id, i);
    });
  }
  const placed = new Map<string, Placed>();
  let height = 0;
  columns.forEach((col, ci) => {
    col.forEach((node, ri) => {
      placed.set(node.id, { node, x: 20 + ci * (NODE_W + COL_GAP), y: 20 + ri * (NODE_H + ROW_GAP) });
    });
    height = Math.max(height, 20 + col.length * (NODE_H + ROW_GAP));
  });
  return { placed, width: 40 + columns.length * (NODE_W + COL_GAP) - COL_GAP, height: Math.max(height, 120) };
}

function activate(go: () => void) {
  return {
    onClick: go,
    onKeyDown: (e: KeyboardEvent) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        go();
      }
    },
  };
}

export function ServicesPage({ params }: { params: URLSearchParams }) {
  const rangeKey = params.get('range') ?? '1h';
  const [graph, setGraph] = useState<ServiceGraph | null>(null);
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    const end = Math.floor(Date.now() / 1000);
    const start = end - (RANGES[rangeKey] ?? 3600);
    setError('');
    getJson<ServiceGraph>(`api/service-graph${query({ start, end })}`, ctl.signal)
      .then(setGraph)
      .catch((e: unknown) => {
        if (!ctl.signal.aborted) setError(e instanceof Error ? e.message : String(e));
      });
    return () => ctl.abort();
  }, [rangeKey, tick]);
  const searchRange = rangeKey === '15m' ? '15m' : '1h';
  return (
    <section class="services" aria-label="Service map">
      <div class="toolbar">
        <h1>Service map</h1>
        <label>
          Range
          <select value={rangeKey} onChange={(e) => navigate(`services${query({ range: e.currentTarget.value })}`)}>
            <option value="15m">last 15 minutes</option>
            <option value="1h">last hour</option>
          </select>
        </label>
        <button type="button" onClick={() => setTick(tick + 1)}>
          Refresh
        </button>
      </div>
      {error !== '' && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {graph === null && error === '' && <p>Loading…</p>}
      {graph !== null && graph.nodes.length === 0 && (
        <p class="empty">
          No service-graph edges in this range. The map needs the metrics generator's <code>service-graphs</code> processor turned on for this tenant (
          <code>overrides.defaults.metrics_generator.processors</code>).
        </p>
      )}
      {graph !== null && graph.nodes.length > 0 && <GraphView graph={graph} range={searchRange} />}
      {graph !== null && graph.nodes.length > 0 && (
        <nav class="red-links" aria-label="RED metrics by service">
          RED metrics:{' '}
          {graph.nodes
            .filter((n) => !n.virtual)
            .map((n) => (
              <a key={n.id} href={href(`services/${encodeURIComponent(n.id)}`)}>
                {n.id}
              </a>
            ))}
        </nav>
      )}
    </section>
  );
}

function GraphView({ graph, range }: { graph: ServiceGraph; range: string }) {
  const { placed, width, height } = layout(graph);
  return (
    // biome-ignore lint/a11y/useSemanticElements: an SVG drawing holding focusable nodes and edges; <fieldset> cannot live in SVG
    <svg class="graph" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="group" aria-label="Services and their calls">
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse">
          <path d="M0,0 L10,5 L0,10 z" fill="currentColor" />
        </marker>
      </defs>
      {graph.edges.map((e) => {
        const a = placed.get(e.source);
        const b = placed.get(e.target);
        if (a === undefined || b === undefined) return null;
        const x1 = a.x + NODE_W;
        const y1 = a.y + NODE_H / 2;
        const x2 = b.x;
        const y2 = b.y + NODE_H / 2;
        const mx = (x1 + x2) / 2;
        const label = `${rate(e.requestRate)} · ${pct(e.errorRate)} err · p90 ${secs(e.latencyP90Seconds)}`;
        const q = edgeQuery(e, b.node.virtual);
        return (
          // biome-ignore lint/a11y/useSemanticElements: an SVG <a> has an SVGAnimatedString href that the router's link interception does not handle; role=link + Enter does the same
          <g
            key={`${e.source}>${e.target}>${e.connectionType}`}
            class={`edge${e.errorRate > 0 ? ' failing' : ''}`}
            role="link"
            tabindex={0}
            aria-label={`calls from ${e.source} to ${e.target}: ${label}`}
            {...activate(() => navigate(searchLink(q, range)))}
          >
            <title>{`${e.source} → ${e.target} (${e.connectionType || 'http/grpc'}): ${e.requests} requests, ${e.failed} failed, p50 ${secs(e.latencyP50Seconds)}, p99 ${secs(e.latencyP99Seconds)}`}</title>
            <path d={`M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`} marker-end="url(#arrow)" />
            <text x={mx} y={(y1 + y2) / 2 - 6} text-anchor="middle">
              {label}
            </text>
          </g>
        );
      })}
      {[...placed.values()].map(({ node, x, y }) => (
        // biome-ignore lint/a11y/useSemanticElements: see the edges above
        <g
          key={node.id}
          class={`node${node.virtual ? ' virtual' : ''}${node.errorRate > 0 ? ' failing' : ''}`}
          role="link"
          tabindex={0}
          aria-label={`service ${node.id}`}
          {...activate(() => navigate(searchLink(`{ resource.service.name = ${quote(node.id)} }`, range)))}
        >
          <title>{`${node.id}${node.virtual ? ' (not instrumented)' : ''}: serves ${rate(node.requestRate)}, ${pct(node.errorRate)} errors`}</title>
          <rect x={x} y={y} width={NODE_W} height={NODE_H} rx="6" />
          <text x={x + 10} y={y + 21} class="name">
            {node.id}
          </text>
          <text x={x + 10} y={y + 40} class="stats">
            {`${rate(node.requestRate)} · ${pct(node.errorRate)} err`}
          </text>
        </g>
      ))}
    </svg>
  );
}

// ---- RED panel ----

interface KeyValue {
  key: string;
  value: { stringValue?: string; doubleValue?: number; intValue?: string };
}

interface RangeSeries {
  labels?: KeyValue[];
  samples?: Array<{ timestampMs: string; value?: number | string }>;
  exemplars?: Array<{ labels?: KeyValue[]; value?: number | string; timestampMs: string }>;
}

interface Line {
  name: string;
  points: Array<[number, number]>;
}

interface Exemplar {
  t: number;
  v: number;
  traceId: string;
}

interface Panel {
  lines: Line[];
  exemplars: Exemplar[];
}

const num = (v: number | string | undefined): number => (v === undefined ? 0 : Number(v));

function labelText(kv: KeyValue): string {
  const v = kv.value;
  return String(v.stringValue ?? v.doubleValue ?? v.intValue ?? '');
}

function nearest(points: ReadonlyArray<[number, number]>, t: number): number {
  let best = 0;
  let dist = Number.POSITIVE_INFINITY;
  for (const [pt, pv] of points) {
    if (Math.abs(pt - t) < dist) {
      dist = Math.abs(pt - t);
      best = pv;
    }
  }
  return best;
}

export function toPanel(series: RangeSeries[]): Panel {
  const lines: Line[] = [];
  const exemplars: Exemplar[] = [];
  for (const s of series) {
    const q = s.labels?.find((l) => l.key === 'p');
    const name = q !== undefined ? `p${Math.round(Number(labelText(q)) * 100)}` : (s.labels ?? []).map(labelText).join(' ') || 'value';
    const points: Array<[number, number]> = (s.samples ?? []).map((p) => [Number(p.timestampMs), num(p.value)]);
    lines.push({ name, points });
    for (const e of s.exemplars ?? []) {
      const id = e.labels?.find((l) => l.key === 'trace:id');
      if (id === undefined) continue;
      const t = Number(e.timestampMs);
      let v = num(e.value);
      // A rate's exemplar carries no value of its own (NaN): it sits on the line at its time.
      if (!Number.isFinite(v)) v = nearest(points, t);
      exemplars.push({ t, v, traceId: labelText(id) });
    }
  }
  lines.sort((a, b) => a.name.localeCompare(b.name));
  return { lines, exemplars };
}

const CHART_W = 420;
const CHART_H = 150;
const PAD = { l: 52, r: 10, t: 10, b: 22 };

function Chart({ title, panel, unit, start, end }: { title: string; panel: Panel; unit: (v: number) => string; start: number; end: number }) {
  const all = [...panel.lines.flatMap((l) => l.points.map((p) => p[1])), ...panel.exemplars.map((e) => e.v)];
  const max = Math.max(0, ...all) || 1;
  const x = (t: number): number => PAD.l + ((t - start) / Math.max(1, end - start)) * (CHART_W - PAD.l - PAD.r);
  const y = (v: number): number => CHART_H - PAD.b - (v / max) * (CHART_H - PAD.t - PAD.b);
  const seen = new Set<string>();
  const exemplars = panel.exemplars.filter((e) => {
    const at = `${Math.round(x(e.t) / 8)},${Math.round(y(e.v) / 8)}`;
    if (seen.has(at)) return false;
    seen.add(at);
    return true;
  });
  const time = (t: number): string => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      {panel.lines.length === 0 ? (
        <p class="empty">no data in this range</p>
      ) : (
        <div class="plot">
          <svg
            width={CHART_W}
            height={CHART_H}
            viewBox={`0 0 ${CHART_W} ${CHART_H}`}
            role="img"
            aria-label={`${title}: ${panel.lines.map((l) => l.name).join(', ')}`}
          >
            <line class="axis" x1={PAD.l} y1={y(0)} x2={CHART_W - PAD.r} y2={y(0)} />
            <line class="axis" x1={PAD.l} y1={PAD.t} x2={PAD.l} y2={y(0)} />
            <text class="tick" x={PAD.l - 4} y={PAD.t + 8} text-anchor="end">
              {unit(max)}
            </text>
            <text class="tick" x={PAD.l - 4} y={y(0)} text-anchor="end">
              0
            </text>
            <text class="tick" x={PAD.l} y={CHART_H - 6}>
              {time(start)}
            </text>
            <text class="tick" x={CHART_W - PAD.r} y={CHART_H - 6} text-anchor="end">
              {time(end)}
            </text>
            {panel.lines.map((l, i) => (
              <g key={l.name} class={`series s${i % 4}`} data-series={l.name}>
                <polyline points={l.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ')} />
                {l.points.map(([t, v]) => (
                  <circle key={t} cx={x(t)} cy={y(v)} r="2" />
                ))}
              </g>
            ))}
          </svg>
          {exemplars.length > 0 && (
            <div class="exemplars">
              {/* Exemplars are links placed over the chart, so they are focusable and open in new tabs; one per 8 px cell, as overlapping ones could not be clicked. */}
              {exemplars.map((e) => (
                <a
                  key={`${e.traceId}-${e.t}`}
                  class="exemplar"
                  href={href(`trace/${e.traceId}`)}
                  style={{ left: `${x(e.t) - 5}px`, top: `${y(e.v) - 5}px` }}
                  title={`trace ${e.traceId}: ${unit(e.v)}`}
                >
                  <span class="sr-only">{`exemplar trace ${e.traceId}, ${unit(e.v)} at ${new Date(e.t).toLocaleTimeString()}`}</span>
                </a>
              ))}
            </div>
          )}
        </div>
      )}
      {panel.lines.length > 0 && (
        <div class="legend">
          {panel.lines.map((l, i) => (
            <span key={l.name} class={`s${i % 4}`}>
              {l.name}
            </span>
          ))}
        </div>
      )}
    </figure>
  );
}

export function RedPage({ service, params }: { service: string; params: URLSearchParams }) {
  const rangeKey = params.get('range') ?? '1h';
  const [panels, setPanels] = useState<{ rate: Panel; errors: Panel; duration: Panel; start: number; end: number } | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    const ctl = new AbortController();
    const end = Math.floor(Date.now() / 1000);
    const start = end - (RANGES[rangeKey] ?? 3600);
    const step = rangeKey === '15m' ? 15 : 60;
    const sel = `resource.service.name = ${quote(service)}`;
    const run = (q: string): Promise<Panel> =>
      getJson<{ series?: RangeSeries[] }>(`api/metrics/query_range${query({ q, start, end, step, exemplars: 20 })}`, ctl.signal).then((r) =>
        toPanel(r.series ?? []),
      );
    setPanels(null);
    setError('');
    Promise.all([run(`{ ${sel} } | rate()`), run(`{ ${sel} && status = error } | rate()`), run(`{ ${sel} } | quantile_over_time(duration, .5, .9, .99)`)])
      .then(([rate, errors, duration]) => setPanels({ rate, errors, duration, start: (start - step) * 1000, end: end * 1000 }))
      .catch((e: unknown) => {
        if (!ctl.signal.aborted) setError(e instanceof Error ? e.message : String(e));
      });
    return () => ctl.abort();
  }, [service, rangeKey]);
  return (
    <section class="red" aria-label={`RED metrics of ${service}`}>
      <div class="toolbar">
        <h1>{service}</h1>
        <label>
          Range
          <select value={rangeKey} onChange={(e) => navigate(`services/${encodeURIComponent(service)}${query({ range: e.currentTarget.value })}`)}>
            <option value="15m">last 15 minutes</option>
            <option value="1h">last hour</option>
          </select>
        </label>
        <a href={href(searchLink(`{ resource.service.name = ${quote(service)} }`, rangeKey))}>Search its traces</a>
        <a href={href('services')}>Service map</a>
      </div>
      {error !== '' && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {panels === null && error === '' && <p>Loading…</p>}
      {panels !== null && (
        <div class="charts">
          <Chart title="Rate (spans/s)" panel={panels.rate} unit={rate} start={panels.start} end={panels.end} />
          <Chart title="Errors (spans/s)" panel={panels.errors} unit={rate} start={panels.start} end={panels.end} />
          <Chart title="Duration" panel={panels.duration} unit={secs} start={panels.start} end={panels.end} />
        </div>
      )}
    </section>
  );
}
