/**
 * How long the web UI takes to show a 50,001-span trace, measured the way a user meets it: a real
 * rubato fed the big trace by the OpenTelemetry SDK, then Debian's chromium (through playwright-core,
 * as in test/ui/browser.test.ts) opening /trace/<id> RUNS times. Prints p50/p99 of each phase the trace
 * view records (window.__rubatoRender) and, for the server side alone, how long the trace-by-ID call
 * takes as JSON and as protobuf (node's fetch, then curl: first byte and whole answer) and how big each
 * answer is.
 *
 * Env: RUNS (10), CHROMIUM_PATH (/usr/bin/chromium). `npm run bench:ui`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startRubato } from '../../test/support/rubato-process.js';
import { exportSpans, makeExporter, traceIdsOf } from '../../test/support/otel-traces.js';
import { recordBigTrace } from '../../test/ui/big-trace.js';

const RUNS = Number(process.env['RUNS'] ?? 10);
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}

const line = (name: string, values: number[]): string =>
  `${name.padEnd(28)} p50 ${pct(values, 50).toFixed(0).padStart(6)} ms   p99 ${pct(values, 99).toFixed(0).padStart(6)} ms`;

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  const rubato = await startRubato({
    extraYaml: ['overrides:', '  defaults:', '    global:', '      max_bytes_per_trace: 50000000'].join('\n'),
  });
  try {
    await rubato.waitReady();
    const big = await recordBigTrace(100, 499);
    const id = traceIdsOf(big)[0] ?? '';
    const exporter = makeExporter('http-proto', rubato);
    for (let i = 0; i < big.length; i += 5000) if (!(await exportSpans(exporter, big.slice(i, i + 5000)))) throw new Error('big trace chunk refused');
    await exporter.shutdown();
    const url = `${rubato.url}/api/v2/traces/${id}`;
    // Wait until the whole trace is readable.
    for (;;) {
      const r = await fetch(url, { headers: { accept: 'application/protobuf' } });
      if (r.status === 200 && (await r.arrayBuffer()).byteLength > 4_000_000) break;
      await new Promise((res) => setTimeout(res, 500));
    }

    console.log(`# ui first render: ${big.length}-span trace, ${RUNS} runs (2-core machine shared with other jobs: noisy)`);
    const server: Record<string, number[]> = { json: [], protobuf: [] };
    const size: Record<string, number> = {};
    for (let i = 0; i < RUNS; i++) {
      for (const kind of ['json', 'protobuf'] as const) {
        const t = performance.now();
        const r = await fetch(url, { headers: { accept: `application/${kind}` } });
        size[kind] = (await r.arrayBuffer()).byteLength;
        server[kind]?.push(performance.now() - t);
      }
    }
    for (const kind of ['json', 'protobuf'] as const)
      console.log(`${line(`server trace-by-ID ${kind}`, server[kind] ?? [])}   ${((size[kind] ?? 0) / 1e6).toFixed(1)} MB`);
    // The same call through curl: time to first byte (the server's work) apart from the whole answer.
    if (spawnSync('curl', ['--version']).status === 0) {
      for (const kind of ['json', 'protobuf'] as const) {
        const first: number[] = [];
        const all: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const out = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{time_starttransfer} %{time_total}', '-H', `Accept: application/${kind}`, url], {
            encoding: 'utf8',
          });
          const [a, b] = out.stdout.trim().split(' ').map(Number);
          first.push((a ?? NaN) * 1000);
          all.push((b ?? NaN) * 1000);
        }
        console.log(line(`curl ${kind} first byte`, first));
        console.log(line(`curl ${kind} whole answer`, all));
      }
    }

    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    try {
      const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
      const phases = new Map<string, number[]>();
      const wall: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        // From a blank page, as a link from elsewhere opens it (the search page would leave its
        // tag-name request running on the server, ahead of the trace's).
        await page.goto('about:blank');
        const started = Date.now();
        await page.goto(`${rubato.url}/trace/${id}`);
        await page.locator(`body[data-trace-rendered="${id}"]`).waitFor({ state: 'attached', timeout: 120_000 });
        wall.push(Date.now() - started);
        const t = (await page.evaluate('window.__rubatoRender')) as Record<string, number> | undefined;
        // Where the page's own loading ends: the HTML in, the scripts run (DOMContentLoaded).
        const nav = (await page.evaluate(
          "(() => { const n = performance.getEntriesByType('navigation')[0]; return { htmlInMs: n.responseEnd, scriptsRunMs: n.domContentLoadedEventEnd }; })()",
        )) as Record<string, number>;
        for (const [k, v] of Object.entries({ ...nav, ...t })) {
          if (k !== 'spans' && k !== 'bytes' && typeof v === 'number') phases.set(k, [...(phases.get(k) ?? []), v]);
        }
      }
      for (const [k, v] of phases) console.log(line(`browser ${k}`, v));
      console.log(line('browser navigation-to-paint', wall));
    } finally {
      await browser.close();
    }
  } finally {
    await rubato.stop();
    rubato.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
