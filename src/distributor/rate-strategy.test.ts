// Tempo's `ingestion.rate_strategy`: `local` gives each distributor the whole limit, `global` shares
// it among the healthy distributors (the distributor ring says how many), burst left per distributor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tenantRateLimit } from '../app.js';
import { loadConfig } from '../config/load.js';

function configWith(strategy: string): ReturnType<typeof loadConfig>['config'] {
  const dir = mkdtempSync(join(tmpdir(), 'rubato-rate-'));
  try {
    const file = join(dir, 'tempo.yaml');
    writeFileSync(
      file,
      [
        'overrides:',
        '  defaults:',
        '    ingestion:',
        `      rate_strategy: ${strategy}`,
        '      rate_limit_bytes: 10000',
        '      burst_size_bytes: 20000',
        '',
      ].join('\n'),
    );
    return loadConfig([`-config.file=${file}`], {}).config;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('local: each distributor gets the whole limit whatever the ring holds', () => {
  assert.deepEqual(tenantRateLimit(configWith('local'), 'a', 4), { bytesPerSecond: 10_000, burstBytes: 20_000 });
});

test('global: the healthy distributors share the limit; the burst stays per distributor', () => {
  const cfg = configWith('global');
  assert.deepEqual(tenantRateLimit(cfg, 'a', 4), { bytesPerSecond: 2_500, burstBytes: 20_000 });
  assert.deepEqual(tenantRateLimit(cfg, 'a', 1), { bytesPerSecond: 10_000, burstBytes: 20_000 });
  assert.deepEqual(tenantRateLimit(cfg, 'a', 0), { bytesPerSecond: 10_000, burstBytes: 20_000 }, 'an empty ring counts as one distributor');
});
