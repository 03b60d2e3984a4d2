// rubato's command line beyond starting the server: -config.verify checks a config and exits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
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

test('npm run hash-token: hashes a token read on standard input, refuses short ones, generates random ones', () => {
  const cli = join(projectRoot, 'dist', 'src', 'auth', 'hash-token-cli.js');
  const token = 'a-token-for-grafana-0123456789';
  const hashed = spawnSync(process.execPath, [cli], { input: `${token}\n`, encoding: 'utf8', timeout: 30_000 });
  assert.equal(hashed.status, 0, hashed.stderr);
  assert.equal(hashed.stdout, `sha256:${createHash('sha256').update(token).digest('hex')}\n`);
  assert.ok(!hashed.stdout.includes(token));
  const short = spawnSync(process.execPath, [cli], { input: 'short\n', encoding: 'utf8', timeout: 30_000 });
  assert.equal(short.status, 1);
  assert.match(short.stderr, /at least 16 characters/);
  const made = spawnSync(process.execPath, [cli, '--generate'], { encoding: 'utf8', timeout: 30_000 });
  const m = /^token: (\S+)\nhash: {2}(sha256:[0-9a-f]{64})\n$/.exec(made.stdout);
  assert.ok(m !== null, made.stdout);
  assert.equal(m[2], `sha256:${createHash('sha256').update(m[1]!).digest('hex')}`);
});
