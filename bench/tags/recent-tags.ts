/**
 * Tag look-ups on recent data: the head block's tag index (src/ingester/head-tags.ts) next to
 * decoding every trace for each request, which is what head blocks did before and what a request
 * with a `q` filter still does. Prints p50/p99 per request, the first request (which builds the
 * index), and the index's cost per span appended since the last request.
 *
 *   npm run bench:tags-recent     Env: TRACES (20000), SPANS_PER_TRACE (10), RUNS (20)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TagRef } from '../../src/block/block.js';
import { decodedTagValues } from '../../src/block/decoded-tags.js';
import { HeadBlock } from '../../src/ingester/head-block.js';
import { RecentBlock } from '../../src/ingester/recent-block.js';
import { syntheticTraces } from '../../test/support/synthetic-traces.js';

const env = (k: string, d: number): number => (process.env[k] !== undefined ? Number(process.env[k]) : d);
const TRACES = env('TRACES', 20_000);
const SPANS_PER_TRACE = env('SPANS_PER_TRACE', 10);
const RUNS = env('RUNS', 20);

const ALL = { filter: { conditions: { conditions: [], allConditions: false, needAllSpans: false } }, run: null };
const TAG: TagRef = { kind: 'attribute', scope: 'resource', key: 'service.name' };

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const dir = mkdtempSync(join(tmpdir(), 'rubato-bench-tags-'));
try {
  const traces = syntheticTraces({ traces: TRACES, spansPerTrace: SPANS_PER_TRACE, seed: 11 });
  const spans = TRACES * SPANS_PER_TRACE;
  const head = new HeadBlock(dir, 't', 1, Date.now());
  const half = Math.floor(traces.length / 2);
  const records = traces.map((t) => ({ traceId: t.traceId, trace: t.trace, startNs: 1, endNs: 2 }));
  head.appendMany(records.slice(0, half), 1);
  const recent = new RecentBlock('t', [head]);

  const first = await timed(() => recent.tagValues(TAG, ALL));
  head.appendMany(records.slice(half), 2);
  const catchUp = await timed(() => recent.tagValues(TAG, ALL));
  const indexed: number[] = [];
  for (let i = 0; i < RUNS; i++) indexed.push(await timed(() => recent.tagValues(TAG, ALL)));
  const decoded: number[] = [];
  for (let i = 0; i < Math.min(RUNS, 5); i++) decoded.push(await timed(() => decodedTagValues(traces, TAG, null)));

  console.log(`recent tag values: ${spans} spans in ${TRACES} traces, ${(head.bytes / 1e6).toFixed(1)} MB head block`);
  console.log(`  first request (indexes ${half} traces): ${first.toFixed(0)} ms`);
  console.log(
    `  after ${traces.length - half} more traces were appended: ${catchUp.toFixed(0)} ms (${((catchUp * 1000) / (spans - half * SPANS_PER_TRACE)).toFixed(2)} µs per new span)`,
  );
  console.log(`  indexed, later requests: p50 ${pct(indexed, 50).toFixed(2)} ms, p99 ${pct(indexed, 99).toFixed(2)} ms`);
  console.log(`  decoding per request (the old path, and requests with q; it stops after 32 MB): p50 ${pct(decoded, 50).toFixed(0)} ms`);
  console.log(`  peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
  head.discard();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
