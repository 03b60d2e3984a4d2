// The web UI in a real browser: Debian's chromium driven by playwright-core against a real rubato
// process fed by the OpenTelemetry SDK. Search, trace view, details, keyboard, labels, find, JSON
// download, compare, deep links behind a path prefix, the service map and RED panels (the metrics
// generator's processors on), and a 50,000-span trace (its render time is printed, never asserted). Screenshots go to ui-screenshots/ (git-ignored).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { projectRoot, startRubato, type RubatoProcess } from '../support/rubato-process.js';
import { exportSpans, makeExporter, sendTraces, traceIdsOf } from '../support/otel-traces.js';
import { recordBigTrace } from './big-trace.js';
import { sendServiceTraces } from './service-traces.js';
import { decodeTraceByIdResponse } from '../../ui/src/model/trace-proto.js';

/** What the trace view records in window.__rubatoRender (ui/src/trace-view.tsx). */
interface RenderTimings {
  spans: number;
  bytes: number;
  fetchMs: number;
  decodeMs: number;
  treeMs: number;
  criticalMs: number;
  renderMs: number;
  totalMs: number;
  sinceNavigationMs: number;
}

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const shots = join(projectRoot, 'ui-screenshots');
const BIG_BATCHES = 100;
const BIG_ITEMS = 499;
const BIG_SPANS = 1 + BIG_BATCHES + BIG_BATCHES * BIG_ITEMS;

/** A reverse proxy that mounts rubato under /rubato/ (and strips the prefix), like an ingress would. */
function prefixProxy(target: number): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (!url.startsWith('/rubato/')) {
      res.writeHead(404).end('outside the prefix');
      return;
    }
    const up = request({ host: '127.0.0.1', port: target, path: url.slice('/rubato'.length), method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', (err) => res.writeHead(502).end(String(err)));
    req.pipe(up);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({ server, port: typeof a === 'object' && a !== null ? a.port : 0 });
    }),
  );
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('web UI in chromium', { timeout: 600_000 }, () => {
  let rubato: RubatoProcess;
  let browser: Browser;
  let page: Page;
  let proxy: { server: Server; port: number };
  let checkoutIds: string[] = [];
  let bigId = '';
  let shopIds: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`);
    }
    mkdirSync(shots, { recursive: true });
    rubato = await startRubato({
      extraYaml: [
        'metrics_generator:',
        '  processor:',
        '    service_graphs: { wait: 1s }',
        'overrides:',
        '  defaults:',
        '    global:',
        '      max_bytes_per_trace: 50000000',
        '    metrics_generator:',
        '      processors: [service-graphs, span-metrics]',
      ].join('\n'),
    });
    await rubato.waitReady();
    const exporter = makeExporter('http-proto', rubato);
    checkoutIds = traceIdsOf(await sendTraces(exporter, 5, 'checkout'));
    await sendTraces(makeExporter('http-proto', rubato), 2, 'inventory');
    shopIds = await sendServiceTraces(() => makeExporter('http-proto', rubato), 4);
    const big = await recordBigTrace(BIG_BATCHES, BIG_ITEMS);
    bigId = traceIdsOf(big)[0] ?? '';
    const bigExporter = makeExporter('http-proto', rubato);
    for (let i = 0; i < big.length; i += 5000) assert.ok(await exportSpans(bigExporter, big.slice(i, i + 5000)), 'big trace chunk accepted');
    await bigExporter.shutdown();
    await waitFor('the checkout traces in search', async () => {
      const r = await fetch(`${rubato.url}/api/search?q=${encodeURIComponent('{ resource.service.name = "checkout" }')}&limit=50`);
      const j = (await r.json()) as { traces?: unknown[] };
      return (j.traces?.length ?? 0) >= 5 ? true : undefined;
    });
    proxy = await prefixProxy(rubato.httpPort);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
  });

  after(async () => {
    await browser?.close();
    proxy?.server.close();
    await rubato?.stop();
    rubato?.cleanup();
  });

  test('the server answers deep links with the app and a relative base; assets and the API still work', async () => {
    const home = await fetch(`${rubato.url}/`);
    assert.equal(home.status, 200);
    assert.match(home.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await home.text(), /<base href="\.\/">/);
    const deep = await fetch(`${rubato.url}/trace/${checkoutIds[0]}`);
    assert.equal(deep.status, 200);
    const html = await deep.text();
    assert.match(html, /<base href="\.\.\/">/);
    const asset = /src="\.\/assets\/([^"]+\.js)"/.exec(html)?.[1] ?? '';
    const js = await fetch(`${rubato.url}/assets/${asset}`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.equal(js.headers.get('content-encoding'), 'gzip', 'fetch asks for gzip; the bundle is sent compressed');
    assert.match(await js.text(), /^[\s\S]{1000,}$/);
    assert.equal((await fetch(`${rubato.url}/search?q=%7B%7D`)).status, 200);
    assert.equal((await fetch(`${rubato.url}/assets/..%2Fpackage.json`)).status, 404);
    assert.equal((await fetch(`${rubato.url}/assets/nope.js`)).status, 404);
    assert.equal((await fetch(`${rubato.url}/ready`)).status, 200);
  });

  test('search: autocomplete from the tag APIs, results table, sorting', async () => {
    await page.goto(`${rubato.url}/`);
    const editor = page.getByRole('combobox', { name: 'TraceQL query' });
    await editor.fill('');
    await editor.pressSequentially('{ resource.serv');
    await page.getByRole('option', { name: 'resource.service.name' }).waitFor();
    await editor.press('Enter');
    await editor.pressSequentially('= "chec');
    await page.getByRole('option', { name: 'checkout' }).waitFor();
    await editor.press('Enter');
    await editor.pressSequentially(' }');
    assert.equal(await editor.inputValue(), '{ resource.service.name = "checkout" }');
    await editor.press('Enter');
    await page.waitForURL(/\/search\?q=/);
    const table = page.getByRole('grid', { name: 'Search results' });
    await table.locator('tbody tr').nth(4).waitFor();
    const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    assert.equal(rows.length, 5);
    for (const r of rows) {
      assert.equal(r[1], 'checkout');
      assert.equal(r[2], 'POST /checkout');
      assert.equal(r[5], '4', 'span count');
      assert.equal(r[6], '2', 'error count');
    }
    assert.deepEqual(new Set(rows.map((r) => r[0])), new Set(checkoutIds.map((id) => id.slice(0, 16))));
    const durHeader = page.getByRole('columnheader', { name: /Duration/ });
    await durHeader.getByRole('button').click();
    assert.equal(await durHeader.getAttribute('aria-sort'), 'descending');
    await durHeader.getByRole('button').click();
    assert.equal(await durHeader.getAttribute('aria-sort'), 'ascending');
    const spanSort = page.getByRole('columnheader', { name: /Root service/ });
    await spanSort.getByRole('button').click();
    assert.equal(await page.getByRole('columnheader', { name: /Duration/ }).getAttribute('aria-sort'), 'none');
    await page.screenshot({ path: join(shots, 'search.png') });

    // Keyboard: the results are an ARIA grid with one tab stop; arrows move it, Enter opens a trace.
    const stops = (): Promise<number> => table.locator('tbody [tabindex="0"]').count();
    const focused = async (): Promise<string> =>
      (await page.evaluate('document.activeElement?.getAttribute("aria-label") || document.activeElement?.textContent || ""')) as string;
    const links = table.locator('tbody a[data-col="0"]');
    const idAt = async (k: number): Promise<string> => (await links.nth(k).textContent()) ?? '';
    assert.equal(await stops(), 1, 'one tab stop in the results');
    assert.equal(await links.first().getAttribute('tabindex'), '0');
    await links.first().focus();
    await page.keyboard.press('ArrowDown');
    assert.equal(await focused(), await idAt(1));
    await page.keyboard.press('End');
    assert.equal(await focused(), await idAt(4));
    await page.keyboard.press('ArrowUp');
    assert.equal(await focused(), await idAt(3));
    await page.keyboard.press('Home');
    assert.equal(await focused(), await idAt(0));
    assert.equal(await stops(), 1, 'the tab stop moved with the focus');
    assert.equal(await links.nth(0).getAttribute('tabindex'), '0');
    await page.keyboard.press('ArrowRight');
    assert.match(await focused(), /matched spans in|^Pick /);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    const second = await idAt(1);
    assert.match(await focused(), new RegExp(`^Pick ${second}[0-9a-f]* to compare$`));
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await focused(), second);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`/trace/${second}[0-9a-f]*$`));
    await page.getByRole('tree', { name: 'Span waterfall' }).getByRole('treeitem').first().waitFor();
    await page.goBack();
    await table.locator('tbody tr').nth(4).waitFor();

    // A reload of the search URL runs the same search again.
    await page.reload();
    await table.locator('tbody tr').nth(4).waitFor();
    // The builder writes TraceQL.
    await page.getByLabel('Service').fill('inventory');
    await page.getByLabel('Status').selectOption('error');
    await page.getByRole('button', { name: 'Run built query' }).click();
    await page.waitForURL(/inventory/);
    await waitFor('the two inventory traces', async () => ((await page.locator('table tbody tr').count()) === 2 ? true : undefined));
    assert.equal(await editor.inputValue(), '{ resource.service.name = "inventory" && status = error }');
    // The legacy fields go to /api/search as tags=, minDuration=.
    await page.getByText('Legacy search (tags, durations)').click();
    await page.getByLabel('Tags').fill('service.name=checkout');
    await page.getByLabel('Legacy min duration').fill('1us');
    await page.getByRole('button', { name: 'Run legacy search' }).click();
    await page.waitForURL(/tags=service.name%3Dcheckout&minDuration=1us/);
    await waitFor('the five checkout traces', async () => ((await page.locator('table tbody tr').count()) === 5 ? true : undefined));
    // A custom window that ends before the traces began finds none of them.
    const local = (ms: number): string => new Date(ms - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await page.getByLabel('Time range').selectOption('custom');
    await page.getByLabel('From', { exact: true }).fill(local(Date.now() - 3 * 3600_000));
    await page.getByLabel('To', { exact: true }).fill(local(Date.now() - 2 * 3600_000));
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.waitForURL(/range=custom&start=\d+&end=\d+/);
    await page.getByText('0 traces').waitFor();
  });

  test('trace view: rows, span details by scope, events, links, find, keyboard, download', async () => {
    const id = checkoutIds[1] ?? '';
    await page.goto(`${rubato.url}/search?q=${encodeURIComponent('{ resource.service.name = "checkout" }')}`);
    await page.getByRole('link', { name: id.slice(0, 16) }).click();
    await page.waitForURL(new RegExp(`/trace/${id}$`));
    const tree = page.getByRole('tree', { name: 'Span waterfall' });
    await tree.getByRole('treeitem').nth(3).waitFor();
    const labels = await tree.getByRole('treeitem').evaluateAll((els) => els.map((e) => [e.getAttribute('aria-level'), e.querySelector('.op')?.textContent]));
    assert.deepEqual(labels, [
      ['1', 'POST /checkout'],
      ['2', 'SELECT orders'],
      ['2', 'price order'],
      ['3', 'charge card'],
    ]);

    // Events are marked on their span's bar: SELECT orders has one, charge card its exception.
    assert.equal(await tree.locator('.evt').count(), 2);
    await tree.getByRole('treeitem', { name: /charge card/ }).click();
    const details = page.getByRole('complementary', { name: 'Span details' });
    await details.getByRole('heading', { name: 'charge card' }).waitFor();
    const text = (await details.textContent()) ?? '';
    assert.match(text, /error: card declined/);
    assert.match(text, /client/);
    const spanAttrs = details.getByRole('table', { name: 'Span attributes' });
    assert.equal(
      await spanAttrs
        .getByRole('row', { name: /peer\.service/ })
        .locator('td')
        .textContent(),
      'payments',
    );
    const resAttrs = details.getByRole('table', { name: 'Resource attributes' });
    assert.equal(
      await resAttrs
        .getByRole('row', { name: /service\.name/ })
        .locator('td')
        .textContent(),
      'checkout',
    );
    assert.match(text, /rubato-it 1\.2\.3/);
    assert.match((await details.getByRole('list', { name: 'Events' }).textContent()) ?? '', /exception.*card declined/s);
    await page.screenshot({ path: join(shots, 'trace.png') });

    // The root links to the previous trace (sendTraces links each root to the one before).
    await tree.getByRole('treeitem', { name: /POST \/checkout/ }).click();
    const link = details.getByRole('list', { name: 'Links' }).getByRole('link');
    assert.equal(await link.textContent(), checkoutIds[0]);
    assert.match((await details.getByRole('table', { name: 'Link attributes' }).textContent()) ?? '', /retry-of/);

    // Keyboard: the tree takes focus; arrows move the active row, Left collapses, Right expands.
    await tree.focus();
    const active = async (): Promise<string> =>
      (await page.locator(`#${(await tree.getAttribute('aria-activedescendant')) ?? 'none'}`).getAttribute('aria-label')) ?? '';
    assert.match(await active(), /POST \/checkout/);
    await page.keyboard.press('ArrowDown');
    assert.match(await active(), /SELECT orders/);
    await page.keyboard.press('End');
    assert.match(await active(), /charge card, .*error/);
    await details.getByRole('heading', { name: 'charge card' }).waitFor();
    await page.keyboard.press('ArrowLeft');
    assert.match(await active(), /price order/);
    await page.keyboard.press('ArrowLeft');
    assert.equal(await tree.getByRole('treeitem').count(), 3);
    assert.equal(await tree.getByRole('treeitem', { name: /price order/ }).getAttribute('aria-expanded'), 'false');
    await page.keyboard.press('ArrowRight');
    assert.equal(await tree.getByRole('treeitem').count(), 4);

    // Find in the trace.
    await page.getByLabel('Find in trace').fill('payments');
    await page.getByText('1 of 1 matching spans').waitFor();
    await page.getByLabel('Find in trace').press('Enter');
    assert.match(await active(), /charge card/);

    // Critical path: 'price order' finishes last under the root and waits for the card, so both stay
    // lit ('SELECT orders' may or may not be, depending on clock ticks between the spans).
    await page.getByLabel('Critical path').check();
    for (const name of [/POST \/checkout/, /price order/, /charge card/]) {
      assert.doesNotMatch((await tree.getByRole('treeitem', { name }).getAttribute('class')) ?? '', /dimmed/);
    }
    assert.match((await details.textContent()) ?? '', /on the critical path/);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download JSON' }).click()]);
    assert.equal(download.suggestedFilename(), `trace-${id}.json`);
    const saved = await download.path();
    const json = JSON.parse(readFileSync(saved, 'utf8')) as { trace: { resourceSpans: unknown[] } };
    assert.equal(json.trace.resourceSpans.length, 1);
  });

  test('labels: every control has an accessible name', async () => {
    for (const path of ['/', `/trace/${checkoutIds[0]}`, `/compare?a=${checkoutIds[0]}&b=${checkoutIds[1]}`]) {
      await page.goto(`${rubato.url}${path}`);
      await page.locator('main h1').first().waitFor();
      await page.waitForLoadState('networkidle');
      // Browser-side code as a string: the test's tsconfig has no DOM types.
      const unnamed = (await page.evaluate(`[...document.querySelectorAll('input, select, textarea, button, a[href], [role=tree]')]
        .filter((el) => el.getAttribute('aria-hidden') !== 'true' && el.tabIndex >= 0)
        .filter((el) => !(el.labels && el.labels.length > 0) && (el.getAttribute('aria-label') ?? '').trim() === '' && (el.textContent ?? '').trim() === '')
        .map((el) => el.outerHTML.slice(0, 120))`)) as string[];
      assert.deepEqual(unnamed, [], `controls without a name on ${path}`);
    }
  });

  test('compare two traces side by side', async () => {
    const [a, b] = checkoutIds;
    await page.goto(`${rubato.url}/search?q=${encodeURIComponent('{ resource.service.name = "checkout" }')}`);
    await page.getByRole('grid', { name: 'Search results' }).locator('tbody tr').nth(4).waitFor();
    await page.getByLabel(`Pick ${a} to compare`).check();
    await page.getByLabel(`Pick ${b} to compare`).check();
    await page.getByRole('link', { name: 'Compare the 2 picked traces' }).click();
    await page.waitForURL(/\/compare\?a=/);
    const table = page.getByRole('table', { name: 'Trace comparison' });
    await table.locator('tbody tr').nth(4).waitFor();
    const rows = await table
      .locator('tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent ?? '')));
    assert.deepEqual(rows, [
      ['Whole trace', '', ''],
      ['checkout: POST /checkout', '1', '1'],
      ['checkout: SELECT orders', '1', '1'],
      ['checkout: price order', '1', '1'],
      ['checkout: charge card', '1', '1'],
    ]);
    await page.screenshot({ path: join(shots, 'compare.png') });
  });

  test('behind a path prefix: deep link, in-app navigation and API calls stay under it', async () => {
    const base = `http://127.0.0.1:${proxy.port}/rubato`;
    const id = checkoutIds[2] ?? '';
    await page.goto(`${base}/trace/${id}`);
    await page.getByRole('tree', { name: 'Span waterfall' }).getByRole('treeitem').nth(3).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Search' }).click();
    await page.waitForURL(`${base}/search`);
    const editor = page.getByRole('combobox', { name: 'TraceQL query' });
    await editor.fill('{ name = "charge card" }');
    await editor.press('Enter');
    await page.getByRole('grid', { name: 'Search results' }).locator('tbody tr').first().waitFor();
    assert.ok(page.url().startsWith(`${base}/search?q=`), page.url());
    // A matched span opens its trace with that span selected.
    await page
      .getByRole('button', { name: /matched spans in/ })
      .first()
      .click();
    await page
      .getByRole('list', { name: /Matched spans of/ })
      .getByRole('link')
      .first()
      .click();
    await page.waitForURL(new RegExp(`^${base}/trace/[0-9a-f]+\\?span=[0-9a-f]+$`));
    await page.getByRole('complementary', { name: 'Span details' }).getByRole('heading', { name: 'charge card' }).waitFor();
    assert.equal(await page.getByRole('treeitem', { name: /charge card/ }).getAttribute('aria-selected'), 'true');
  });

  test('service map: nodes and edges from /api/service-graph; a node and an edge open their searches', async () => {
    await waitFor('the storefront → basket edge', async () => {
      const r = await fetch(`${rubato.url}/api/service-graph`);
      const j = (await r.json()) as { edges: Array<{ source: string; target: string; requests: number }> };
      const e = j.edges.find((x) => x.source === 'storefront' && x.target === 'basket');
      return e !== undefined && e.requests === 4 ? true : undefined;
    });
    await page.goto(`${rubato.url}/`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Services' }).click();
    await page.waitForURL(/\/services$/);
    const map = page.getByRole('group', { name: 'Services and their calls' });
    for (const s of ['storefront', 'basket', 'items']) await map.getByRole('link', { name: `service ${s}`, exact: true }).waitFor();
    const edge = map.getByRole('link', { name: /^calls from storefront to basket: .*50% err/ });
    await edge.waitFor();
    await map.getByRole('link', { name: /^calls from basket to items: / }).waitFor();
    await page.screenshot({ path: join(shots, 'service-map.png') });
    const editor = page.getByRole('combobox', { name: 'TraceQL query' });
    // A node opens the search for its service.
    await map.getByRole('link', { name: 'service basket', exact: true }).click();
    await page.waitForURL(/\/search\?q=/);
    assert.equal(await editor.inputValue(), '{ resource.service.name = "basket" }');
    await waitFor('the four basket traces', async () => ((await page.locator('table tbody tr').count()) === 4 ? true : undefined));
    // An edge, reached with the keyboard, opens the search for the client → server pair.
    await page.goBack();
    await edge.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/search\?q=/);
    assert.equal(
      await editor.inputValue(),
      '{ resource.service.name = "storefront" && kind = client } > { resource.service.name = "basket" && kind = server }',
    );
    await waitFor('the four storefront → basket traces', async () => ((await page.locator('table tbody tr').count()) === 4 ? true : undefined));
    // An edge to a database (virtual node) searches the caller's client spans naming it.
    await page.goBack();
    await map.getByRole('link', { name: /^calls from basket to items: / }).click();
    await page.waitForURL(/\/search\?q=/);
    assert.equal(await editor.inputValue(), '{ resource.service.name = "basket" && kind = client && span.db.name = "items" }');
  });

  test('RED panel: rate, errors and duration percentiles; an exemplar opens its trace', async () => {
    await page.goto(`${rubato.url}/services`);
    await page.getByRole('navigation', { name: 'RED metrics by service' }).getByRole('link', { name: 'basket' }).click();
    await page.waitForURL(/\/services\/basket$/);
    const panel = page.getByRole('region', { name: 'RED metrics of basket' });
    await panel.getByRole('img', { name: /^Rate \(spans\/s\)/ }).waitFor();
    await panel.getByRole('img', { name: /^Errors \(spans\/s\)/ }).waitFor();
    await panel.getByRole('img', { name: 'Duration: p50, p90, p99' }).waitFor();
    assert.equal(await panel.locator('[data-series="p99"] polyline').count(), 1);
    const exemplars = panel.getByRole('link', { name: /^exemplar trace [0-9a-f]{32}/ });
    await exemplars.first().waitFor();
    await page.screenshot({ path: join(shots, 'red-panel.png') });
    const label = (await exemplars.first().textContent()) ?? '';
    const id = /trace ([0-9a-f]{32})/.exec(label)?.[1] ?? '';
    assert.ok(shopIds.includes(id), `exemplar ${id} is one of the sent basket traces`);
    await exemplars.first().click();
    await page.waitForURL(new RegExp(`/trace/${id}$`));
    await page
      .getByRole('tree', { name: 'Span waterfall' })
      .getByRole('treeitem', { name: /GET \/basket/ })
      .first()
      .waitFor();
  });

  test(`a ${BIG_SPANS}-span trace renders virtualised and stays navigable`, async () => {
    // Polled as protobuf: the JSON answer costs the server several times more to write.
    await waitFor('the whole big trace', async () => {
      const r = await fetch(`${rubato.url}/api/v2/traces/${bigId}`, { headers: { accept: 'application/protobuf' } });
      if (r.status !== 200) return undefined;
      return decodeTraceByIdResponse(new Uint8Array(await r.arrayBuffer())).spans.length === BIG_SPANS ? true : undefined;
    });
    // Start from a blank page so the timing covers a fresh page load, fetch, decode and first paint (the
    // search page would leave its tag-name request running on the server, ahead of the trace's).
    await page.goto('about:blank');
    const started = Date.now();
    await page.goto(`${rubato.url}/trace/${bigId}`);
    await page.locator(`body[data-trace-rendered="${bigId}"]`).waitFor({ state: 'attached', timeout: 120_000 });
    const wall = Date.now() - started;
    const t = (await page.evaluate('window.__rubatoRender')) as RenderTimings | undefined;
    assert.equal(t?.spans, BIG_SPANS);
    const inDom = await page.getByRole('treeitem').count();
    assert.ok(inDom > 10 && inDom < 200, `virtualised: ${inDom} rows in the DOM`);
    const ms = (v: number | undefined): string => `${(v ?? NaN).toFixed(0)} ms`;
    console.log(
      `# ui: ${BIG_SPANS}-span trace (${((t?.bytes ?? 0) / 1e6).toFixed(1)} MB protobuf): fetch ${ms(t?.fetchMs)}, decode ${ms(t?.decodeMs)}, ` +
        `tree ${ms(t?.treeMs)}, first paint ${ms(t?.renderMs)}; request-to-paint ${ms(t?.totalMs)} (critical path after it: ${ms(t?.criticalMs)}), ` +
        `page-navigation-to-paint ${ms(t?.sinceNavigationMs)} in the page, ${wall} ms seen by the test (chromium headless; loaded machine)`,
    );
    await page.screenshot({ path: join(shots, 'big-trace.png') });
    const tree = page.getByRole('tree', { name: 'Span waterfall' });
    await tree.focus();
    const active = async (): Promise<string> =>
      (await page.locator(`#${(await tree.getAttribute('aria-activedescendant')) ?? 'none'}`).getAttribute('aria-label')) ?? '';
    await page.keyboard.press('End');
    assert.match(await active(), /bulk-worker write item/);
    // Of each batch's 499 items only the last-finishing one per start slot is on the critical path.
    await page.getByLabel('Critical path').check();
    assert.ok((await tree.locator('.wf-row.dimmed').count()) > 0);
    await page.getByLabel('Find in trace').fill('last item failed');
    await page.getByText('1 of 1 matching spans').waitFor();
    await page.getByLabel('Find in trace').press('Enter');
    assert.match(await active(), /write item, .*error/);
    assert.ok(existsSync(join(shots, 'big-trace.png')));
    assert.deepEqual(pageErrors, []);
  });
});
