import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../config/load.js';
import type { TenantLimits } from '../config/schema.js';
import { parseTenantOverrides } from '../config/tenant-overrides.js';
import { registry } from '../metrics/registry.js';
import { startOverridesReload } from './reload.js';

async function gauge(): Promise<number | undefined> {
  const m = /^tempo_runtime_config_last_reload_successful (\d+)/m.exec(await registry.metrics());
  return m === null ? undefined : Number(m[1]);
}

describe('startOverridesReload', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rubato-overrides-reload-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('applies changed files, keeps the last good overrides over a bad or vanished file, and logs each bad version once', async () => {
    const path = join(dir, 'overrides.yaml');
    const limit = (n: number): string => `overrides:\n  a:\n    ingestion:\n      rate_limit_bytes: ${n}\n`;
    writeFileSync(path, limit(100));
    const applied: Record<string, TenantLimits>[] = [];
    const errors: string[] = [];
    const logger = { info: () => undefined, warn: () => undefined, error: (_o: object, msg: string) => errors.push(msg) };
    const reload = startOverridesReload(
      {
        path,
        periodMs: 3_600_000,
        defaults: defaultConfig().overrides.defaults,
        parse: (text, p, d) => Promise.resolve(parseTenantOverrides(text, p, d)),
        apply: (t) => applied.push(t),
        logger,
      },
      null,
    );
    try {
      assert.equal(await reload.check(), true);
      assert.equal(applied.at(-1)?.['a']?.ingestion.rate_limit_bytes, 100);
      assert.equal(await reload.check(), false, 'unchanged');

      writeFileSync(path, 'overrides:\n  a:\n    ingestion:\n      rate_limit_bytes: [1\n');
      assert.equal(await reload.check(), false);
      assert.equal(await reload.check(), false);
      assert.equal(errors.length, 1);
      assert.equal(await gauge(), 0);
      assert.equal(applied.length, 1);

      unlinkSync(path);
      assert.equal(await reload.check(), false);
      assert.equal(errors.length, 2, 'a file that goes away is an error too');

      writeFileSync(path, limit(200));
      assert.equal(await reload.check(), true);
      assert.equal(applied.at(-1)?.['a']?.ingestion.rate_limit_bytes, 200);
      assert.equal(await gauge(), 1);
    } finally {
      reload.stop();
    }
  });

  it('treats a file missing from the start as optional', async () => {
    const errors: string[] = [];
    const reload = startOverridesReload(
      {
        path: join(dir, 'never.yaml'),
        periodMs: 3_600_000,
        defaults: defaultConfig().overrides.defaults,
        parse: (text, p, d) => Promise.resolve(parseTenantOverrides(text, p, d)),
        apply: () => assert.fail('nothing to apply'),
        logger: { info: () => undefined, warn: () => undefined, error: (_o: object, msg: string) => errors.push(msg) },
      },
      null,
    );
    assert.equal(await reload.check(), false);
    assert.deepEqual(errors, []);
    reload.stop();
  });
});
