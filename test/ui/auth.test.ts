// The web UI with access control on (auth.enabled): its static pages load without a token, its API
// calls are refused until a read token is typed into the header's Token field, then they carry it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { OTLPTraceExporter as HttpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { startRubato, type RubatoProcess } from '../support/rubato-process.js';
import { sendTraces, traceIdsOf } from '../support/otel-traces.js';
import { hashToken } from '../../src/auth/token-hash.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const READ = 'ui-read-token-0123456789abcdef';
const WRITE = 'ui-write-token-0123456789abcdef';

describe('web UI with access control', { timeout: 300_000 }, () => {
  let rubato: RubatoProcess;
  let browser: Browser;
  let traceId = '';

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium or set CHROMIUM_PATH`);
    rubato = await startRubato({
      extraYaml: [
        'auth:',
        '  enabled: true',
        '  tokens:',
        `    - { name: ui, hash: "${hashToken(READ)}", rights: [read], tenants: ["*"] }`,
        `    - { name: sdk, hash: "${hashToken(WRITE)}", rights: [write], tenants: ["*"] }`,
      ].join('\n'),
    });
    await rubato.waitReady();
    const exporter = new HttpProtoExporter({ url: `http://127.0.0.1:${rubato.otlpHttpPort}/v1/traces`, headers: { Authorization: `Bearer ${WRITE}` } });
    traceId = traceIdsOf(await sendTraces(exporter, 1, 'ui-auth'))[0] ?? '';
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  });
  after(async () => {
    await browser?.close();
    await rubato?.stop();
    rubato?.cleanup();
  });

  test('the trace view shows the refusal without a token and the trace once the token is entered', async () => {
    const page = await (await browser.newContext()).newPage();
    const statuses: number[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/api/')) statuses.push(r.status());
    });
    const res = await page.goto(`${rubato.url}/trace/${traceId}`);
    assert.equal(res?.status(), 200, 'the page itself needs no token');
    await page
      .getByText(/authentication required/)
      .first()
      .waitFor({ timeout: 30_000 });
    assert.ok(statuses.includes(401), statuses.join(','));
    await page.getByLabel('Token').fill(READ);
    await page.getByLabel('Token').press('Enter');
    await page.getByLabel('Token').blur();
    await page.reload();
    await page.getByText('POST /checkout').first().waitFor({ timeout: 30_000 });
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem('rubato.token')),
      READ,
    );
  });
});
