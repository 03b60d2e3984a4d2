// rubato's command line beyond starting the server: -config.verify checks a config and exits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../support/rubato-process.js';

const main = join(projectRoot, 'dist', 'src', 'main.js');

test('-config.verify loads the config, names what is ignored, and exits without starting', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rubato-verify-'));
  try {
    const cfg = join(dir, 'tempo.yaml');
    writeFileSync(
      cfg,
      `storage:\n  trace:\n    local:\n      path: ${join(dir, 'traces')}\n    wal:\n      path: ${join(dir, 'wal')}\nusage_report:\n  reporting_enabled: false\n`,
    );
    const ok = spawnSync(process.execPath, [main, `-config.file=${cfg}`, '-config.verify'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /config OK/);
    assert.match(ok.stderr, /usage_report/);
    assert.ok(!existsSync(join(dir, 'wal')) && !existsSync(join(dir, 'data')), 'nothing was started');

    writeFileSync(cfg, 'server: *nowhere\n');
    const bad = spawnSync(process.execPath, [main, `-config.file=${cfg}`, '-config.verify'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^failed parsing config: invalid YAML/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
