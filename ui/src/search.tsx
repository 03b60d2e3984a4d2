/**
 * Search: TraceQL (typed, or made by the builder), a time range and a limit, run against
 * /api/search; the answer is a sortable table of traces, any two of which can be compared. The
 * query lives in the URL (search?q=…&range=…&limit=…) so a search can be shared and reloaded.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { getJson, query, type SearchAnswer, type SearchTrace } from './api';
import { href, navigate } from './router';
import { TraceQLEditor } from './traceql-editor';
import { builderQuery } from './model/traceql-assist';
import { formatDuration, nanosToMs } from './model/trace-model';

const RANGES: Array<[string, string, number]> = [
  ['15m', 'Last 15 minutes', 15 * 60],
  ['1h', 'Last hour', 3600],
  ['6h', 'Last 6 hours', 6 * 3600],
  ['24h', 'Last 24 hours', 24 * 3600],
  ['72h', 'Last 3 days', 72 * 3600],
];

interface Row {
  traceID: string;
  service: string;
  name: string;
  startMs: number;
  durationMs: number;
  spans: number;
  errors: number;
  matched: number;
  /** The matched spans the answer carries (up to the query's spans-per-spanset). */
  matchedSpans: Array<{ spanID: string; name: string; service: string; durationMs: number }>;
}

type SortKey = Exclude<keyof Row, 'matchedSpans'>;

function toRow(t: SearchTrace): Row {
  const stats = Object.values(t.serviceStats ?? {});
  const sets = t.spanSets ?? (t.spanSet !== undefined ? [t.spanSet] : []);
  return {
    traceID: t.traceID,
    service: t.rootServiceName ?? '',
    name: t.rootTraceName ?? '',
    startMs: nanosToMs(t.startTimeUnixNano ?? '0'),
    durationMs: t.durationMs ?? 0,
    spans: stats.reduce((n, s) => n + (s.spanCount ?? 0), 0),
    errors: stats.reduce((n, s) => n + (s.errorCount ?? 0), 0),
    matched: sets.reduce((n, s) => n + (s.matched ?? 0), 0),
    matchedSpans: (t.spanSets ?? []).flatMap((set) =>
      (set.spans ?? []).map((sp) => ({
        spanID: sp.spanID,
        name: sp.name ?? '',
        service: sp.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '',
        durationMs: Number(sp.durationNanos ?? '0') / 1e6,
      })),
    ),
  };
}

/** datetime-local text (local time) ↔ unix seconds. */
function toSeconds(local: string): number {
  const ms = Date.parse(local);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
}
function toLocal(seconds: number): string {
  const d = new Date(seconds * 1000 - new Date().getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/** The search window: a preset ending now, or the custom from/to. */
function windowOf(rk: string, from: string, to: string): { start: number; end: number } {
  if (rk === 'custom') return { start: toSeconds(from), end: Math.max(toSeconds(to), toSeconds(from)) };
  const end = Math.ceil(Date.now() / 1000);
  return { start: end - rangeSeconds(rk), end };
}

function rangeSeconds(key: string): number {
  return RANGES.find((r) => r[0] === key)?.[2] ?? 3600;
}

const COLUMNS: Array<[SortKey, string]> = [
  ['traceID', 'Trace ID'],
  ['service', 'Root service'],
  ['name', 'Root name'],
  ['startMs', 'Start'],
  ['durationMs', 'Duration'],
  ['spans', 'Spans'],
  ['errors', 'Errors'],
  ['matched', 'Matched'],
];

export function SearchPage({ params }: { params: URLSearchParams }) {
  const [q, setQ] = useState(params.get('q') ?? '{}');
  const [rangeKey, setRangeKey] = useState(params.get('range') ?? '1h');
  const now = Math.ceil(Date.now() / 1000);
  const [from, setFrom] = useState(toLocal(Number(params.get('start') ?? now - 3600)));
  const [to, setTo] = useState(toLocal(Number(params.get('end') ?? now)));
  const [limit, setLimit] = useState(params.get('limit') ?? '20');
  const [legacy, setLegacy] = useState({ tags: '', minDuration: '', maxDuration: '' });
  const [builder, setBuilder] = useState({ service: '', spanName: '', status: '', minDuration: '', maxDuration: '' });
  const [rows, setRows] = useState<Row[] | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'startMs', desc: true });
  const [picked, setPicked] = useState<string[]>([]);
  const [opened, setOpened] = useState<string>('');
  // The results grid's one tab stop (row in sorted order, widget in the row); arrows move it.
  const [cursor, setCursor] = useState({ row: 0, col: 0 });
  // Recomputed when the range changes, so autocomplete asks about the same window the search uses.
  const range = useMemo(() => windowOf(rangeKey, from, to), [rangeKey, from, to]);

  /** `what` is either {q} (TraceQL) or the legacy {tags, minDuration, maxDuration}. */
  async function run(what: Record<string, string>, win: { start: number; end: number }, lim: string): Promise<void> {
    setBusy(true);
    setError('');
    try {
      const ans = await getJson<SearchAnswer>(`api/search${query({ ...what, start: win.start, end: win.end, limit: lim })}`);
      setRows((ans.traces ?? []).map(toRow));
      setCursor({ row: 0, col: 0 });
    } catch (err) {
      setRows(null);
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  const key = params.toString();
  useEffect(() => {
    const pq = params.get('q');
    const rk = params.get('range') ?? rangeKey;
    const win = rk === 'custom' ? { start: Number(params.get('start') ?? 0), end: Number(params.get('end') ?? 0) } : windowOf(rk, from, to);
    const lim = params.get('limit') ?? limit;
    if (pq !== null) {
      setQ(pq);
      void run({ q: pq }, win, lim);
      return;
    }
    const old = { tags: params.get('tags') ?? '', minDuration: params.get('minDuration') ?? '', maxDuration: params.get('maxDuration') ?? '' };
    if (old.tags !== '' || old.minDuration !== '' || old.maxDuration !== '') {
      setLegacy(old);
      void run(old, win, lim);
    }
  }, [key]);

  function submit(text = q): void {
    navigate(`search${query({ q: text, ...rangeParams(), limit })}`);
  }

  function submitLegacy(): void {
    navigate(`search${query({ ...legacy, ...rangeParams(), limit })}`);
  }

  function rangeParams(): Record<string, string | number> {
    return rangeKey === 'custom' ? { range: 'custom', start: toSeconds(from), end: toSeconds(to) } : { range: rangeKey };
  }

  const sorted = useMemo(() => {
    if (rows === null) return [];
    const out = [...rows];
    out.sort((a, b) => {
      const x = a[sort.key];
      const y = b[sort.key];
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return sort.desc ? -c : c;
    });
    return out;
  }, [rows, sort]);

  /**
   * Grid keys (WAI-ARIA grid pattern, one tab stop): Up/Down move to the same widget in the row
   * above or below, Left/Right between the row's widgets (trace link, matched spans, compare box),
   * Home/End to the first or last row, Enter opens the row's trace from any widget but a button.
   */
  function onGridKey(e: KeyboardEvent): void {
    const target = e.target as HTMLElement;
    const row = Number(target.dataset['row'] ?? NaN);
    const col = Number(target.dataset['col'] ?? NaN);
    if (!Number.isFinite(row) || !Number.isFinite(col)) return;
    const grid = e.currentTarget as HTMLElement;
    const focusAt = (r: number, c: number): void => {
      const rr = Math.max(0, Math.min(sorted.length - 1, r));
      const cells = [...grid.querySelectorAll<HTMLElement>(`[data-row="${rr}"]`)];
      // The same column when the row has it, else the nearest one it has.
      let best: HTMLElement | undefined;
      for (const el of cells) {
        const ec = Number(el.dataset['col']);
        if (best === undefined || Math.abs(ec - c) < Math.abs(Number(best.dataset['col']) - c)) best = el;
      }
      if (best === undefined) return;
      setCursor({ row: rr, col: Number(best.dataset['col']) });
      best.focus();
    };
    const rowCols = [...grid.querySelectorAll<HTMLElement>(`[data-row="${row}"]`)].map((el) => Number(el.dataset['col']));
    const at = rowCols.indexOf(col);
    switch (e.key) {
      case 'ArrowDown':
        focusAt(row + 1, col);
        break;
      case 'ArrowUp':
        focusAt(row - 1, col);
        break;
      case 'Home':
        focusAt(0, col);
        break;
      case 'End':
        focusAt(sorted.length - 1, col);
        break;
      case 'ArrowRight':
        focusAt(row, rowCols[Math.min(rowCols.length - 1, at + 1)] ?? col);
        break;
      case 'ArrowLeft':
        focusAt(row, rowCols[Math.max(0, at - 1)] ?? col);
        break;
      case 'Enter': {
        if (target.tagName === 'A' || target.tagName === 'BUTTON') return;
        const id = sorted[row]?.traceID;
        if (id !== undefined) navigate(`trace/${id}`);
        break;
      }
      default:
        return;
    }
    e.preventDefault();
  }
  const cell = (row: number, col: number) => ({
    'data-row': row,
    'data-col': col,
    tabIndex: cursor.row === row && cursor.col === col ? 0 : -1,
  });

  const setField = (k: keyof typeof builder) => (e: Event) => setBuilder({ ...builder, [k]: (e.currentTarget as HTMLInputElement).value });
  const setOld = (k: keyof typeof legacy) => (e: Event) => setLegacy({ ...legacy, [k]: (e.currentTarget as HTMLInputElement).value });

  return (
    <section class="search" aria-labelledby="search-h">
      <h1 id="search-h">Search traces</h1>
      <form
        class="search-form"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <TraceQLEditor value={q} onInput={setQ} onSubmit={() => submit()} range={range} />
        <div class="row">
          <label>
            Time range
            <select value={rangeKey} onChange={(e) => setRangeKey(e.currentTarget.value)}>
              {RANGES.map(([k, label]) => (
                <option key={k} value={k}>
                  {label}
                </option>
              ))}
              <option value="custom">Custom range</option>
            </select>
          </label>
          {rangeKey === 'custom' && (
            <>
              <label>
                From <input type="datetime-local" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
              </label>
              <label>
                To <input type="datetime-local" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
              </label>
            </>
          )}
          <label>
            Limit
            <input type="number" min={1} max={1000} value={limit} onInput={(e) => setLimit(e.currentTarget.value)} size={5} />
          </label>
          <button type="submit" disabled={busy}>
            {busy ? 'Searching…' : 'Search'}
          </button>
        </div>
        <fieldset class="builder">
          <legend>Query builder</legend>
          <label>
            Service <input value={builder.service} onInput={setField('service')} placeholder="checkout" />
          </label>
          <label>
            Span name <input value={builder.spanName} onInput={setField('spanName')} placeholder="GET /" />
          </label>
          <label>
            Status
            <select value={builder.status} onChange={setField('status')}>
              <option value="">any</option>
              <option value="error">error</option>
              <option value="ok">ok</option>
              <option value="unset">unset</option>
            </select>
          </label>
          <label>
            Min duration <input value={builder.minDuration} onInput={setField('minDuration')} placeholder="100ms" size={7} />
          </label>
          <label>
            Max duration <input value={builder.maxDuration} onInput={setField('maxDuration')} placeholder="5s" size={7} />
          </label>
          <button
            type="button"
            onClick={() => {
              const t = builderQuery(builder);
              setQ(t);
              submit(t);
            }}
          >
            Run built query
          </button>
        </fieldset>
        <details class="legacy" open={legacy.tags !== '' || legacy.minDuration !== '' || legacy.maxDuration !== ''}>
          <summary>Legacy search (tags, durations)</summary>
          <fieldset class="builder">
            <legend>Legacy search</legend>
            <label>
              Tags <input value={legacy.tags} onInput={setOld('tags')} placeholder="service.name=checkout error=true" size={36} />
            </label>
            <label>
              Legacy min duration <input value={legacy.minDuration} onInput={setOld('minDuration')} placeholder="100ms" size={7} />
            </label>
            <label>
              Legacy max duration <input value={legacy.maxDuration} onInput={setOld('maxDuration')} placeholder="5s" size={7} />
            </label>
            <button type="button" onClick={submitLegacy}>
              Run legacy search
            </button>
          </fieldset>
        </details>
      </form>
      {error !== '' && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {rows !== null && (
        <>
          <p class="summary" aria-live="polite">
            {rows.length} trace{rows.length === 1 ? '' : 's'}
            <span id="results-keys" class="dim">
              {' · '}
              arrow keys move between results, Enter opens a trace
            </span>
            {picked.length === 2 && (
              <>
                {' · '}
                <a href={href(`compare${query({ a: picked[0], b: picked[1] })}`)}>Compare the 2 picked traces</a>
              </>
            )}
          </p>
          <table class="results" role="grid" aria-label="Search results" aria-describedby="results-keys">
            <thead>
              <tr>
                {COLUMNS.map(([k, label]) => (
                  <th key={k} scope="col" aria-sort={sort.key === k ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
                    <button type="button" class="sort" onClick={() => setSort({ key: k, desc: sort.key === k ? !sort.desc : true })}>
                      {label}
                      {sort.key === k ? (sort.desc ? ' ▼' : ' ▲') : ''}
                    </button>
                  </th>
                ))}
                <th scope="col">Compare</th>
              </tr>
            </thead>
            <tbody
              onKeyDown={onGridKey}
              onFocusIn={(e) => {
                const t = e.target as HTMLElement;
                const row = Number(t.dataset['row'] ?? NaN);
                const col = Number(t.dataset['col'] ?? NaN);
                if (Number.isFinite(row) && Number.isFinite(col) && (row !== cursor.row || col !== cursor.col)) setCursor({ row, col });
              }}
            >
              {sorted.map((r, k) => [
                <tr key={r.traceID} class={r.errors > 0 ? 'has-error' : ''}>
                  <td>
                    <a class="mono" href={href(`trace/${r.traceID}`)} {...cell(k, 0)}>
                      {r.traceID.slice(0, 16)}
                    </a>
                  </td>
                  <td>{r.service}</td>
                  <td>{r.name}</td>
                  <td>{new Date(r.startMs).toLocaleString()}</td>
                  <td class="num">{formatDuration(r.durationMs)}</td>
                  <td class="num">{r.spans}</td>
                  <td class="num">{r.errors}</td>
                  <td class="num">
                    {r.matchedSpans.length > 0 ? (
                      <button
                        type="button"
                        class="sort"
                        {...cell(k, 1)}
                        aria-expanded={opened === r.traceID}
                        aria-label={`${r.matched} matched spans in ${r.traceID}`}
                        onClick={() => setOpened(opened === r.traceID ? '' : r.traceID)}
                      >
                        {r.matched} {opened === r.traceID ? '▾' : '▸'}
                      </button>
                    ) : (
                      r.matched
                    )}
                  </td>
                  <td>
                    <input
                      type="checkbox"
                      {...cell(k, 2)}
                      aria-label={`Pick ${r.traceID} to compare`}
                      checked={picked.includes(r.traceID)}
                      onChange={(e) => setPicked(e.currentTarget.checked ? [...picked, r.traceID].slice(-2) : picked.filter((x) => x !== r.traceID))}
                    />
                  </td>
                </tr>,
                opened === r.traceID && (
                  <tr key={`${r.traceID}-spans`} class="matched-spans">
                    <td colSpan={9}>
                      <ul aria-label={`Matched spans of ${r.traceID}`}>
                        {r.matchedSpans.map((sp) => (
                          <li key={sp.spanID}>
                            <a href={href(`trace/${r.traceID}${query({ span: sp.spanID })}`)}>
                              {sp.service !== '' ? `${sp.service}: ` : ''}
                              {sp.name || sp.spanID}
                            </a>{' '}
                            {formatDuration(sp.durationMs)}
                          </li>
                        ))}
                      </ul>
                    </td>
                  </tr>
                ),
              ])}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
