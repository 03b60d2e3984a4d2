/**
 * Two traces side by side by structure: spans grouped by their service:name path from the root,
 * with counts and summed durations for each side, so a slow or failing run can be set against a
 * good one of the same request.
 */
import { useEffect, useState } from 'preact/hooks';
import { query } from './api';
import { href, navigate } from './router';
import { compareTraces, formatDuration, type CompareRow } from './model/trace-model';
import { fetchTraceModel as load } from './trace-view';

export function ComparePage({ a, b }: { a: string; b: string }) {
  const [ids, setIds] = useState({ a, b });
  const [rows, setRows] = useState<CompareRow[] | null>(null);
  const [totals, setTotals] = useState<[number, number]>([0, 0]);
  const [error, setError] = useState('');

  useEffect(() => {
    setIds({ a, b });
    if (a === '' || b === '') return;
    setError('');
    setRows(null);
    Promise.all([load(a), load(b)])
      .then(([ma, mb]) => {
        setTotals([ma.endMs - ma.startMs, mb.endMs - mb.startMs]);
        setRows(compareTraces(ma, mb));
      })
      .catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)));
  }, [a, b]);

  return (
    <section aria-labelledby="cmp-h">
      <h1 id="cmp-h">Compare two traces</h1>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(`compare${query({ a: ids.a.trim(), b: ids.b.trim() })}`);
        }}
      >
        <label>
          Trace A <input value={ids.a} onInput={(e) => setIds({ ...ids, a: e.currentTarget.value })} size={34} />
        </label>
        <label>
          Trace B <input value={ids.b} onInput={(e) => setIds({ ...ids, b: e.currentTarget.value })} size={34} />
        </label>
        <button type="submit">Compare</button>
      </form>
      {error !== '' && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {rows !== null && (
        <table class="results compare" aria-label="Trace comparison">
          <thead>
            <tr>
              <th scope="col">Service: span</th>
              <th scope="col">
                <a href={href(`trace/${a}`)}>A</a> spans
              </th>
              <th scope="col">
                <a href={href(`trace/${b}`)}>B</a> spans
              </th>
              <th scope="col">A time</th>
              <th scope="col">B time</th>
              <th scope="col">B − A</th>
            </tr>
          </thead>
          <tbody>
            <tr class="total">
              <td>Whole trace</td>
              <td />
              <td />
              <td class="num">{formatDuration(totals[0])}</td>
              <td class="num">{formatDuration(totals[1])}</td>
              <td class="num">{formatDuration(totals[1] - totals[0])}</td>
            </tr>
            {rows.map((r) => {
              const only = r.countA === 0 ? 'only-b' : r.countB === 0 ? 'only-a' : '';
              const diff = r.durationB - r.durationA;
              return (
                <tr key={r.path} class={only}>
                  <td style={{ paddingLeft: `${Math.min(r.depth, 30) * 14 + 6}px` }}>{r.label}</td>
                  <td class="num">{r.countA}</td>
                  <td class="num">{r.countB}</td>
                  <td class="num">{r.countA > 0 ? formatDuration(r.durationA) : '—'}</td>
                  <td class="num">{r.countB > 0 ? formatDuration(r.durationB) : '—'}</td>
                  <td class={`num ${diff > 0 ? 'slower' : 'faster'}`}>{(diff >= 0 ? '+' : '−') + formatDuration(Math.abs(diff))}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
