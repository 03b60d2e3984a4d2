// A distributed target without its ring store, or with ring settings it cannot honour (an ingester
// without a zone under zone awareness, unverified TLS to etcd), is refused at start with the key to
// set, not a stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mainJs } from '../support/rubato-process.js';

test('-target=ingester without an etcd ring, or with ring settings it cannot honour, names the key and exits 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rubato-target-cli-'));
  try {
    const run = (yaml: string) => {
      const cfg = join(dir, 'tempo.yaml');
      writeFileSync(cfg, yaml);
      return spawnSync(process.execPath, [mainJs, `-config.file=${cfg}`, '-target=ingester'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    };
    const noStore = run('server:\n  http_listen_port: 0\n');
    assert.equal(noStore.status, 1);
    assert.match(noStore.stderr, /needs the ingester ring in etcd: set ingester\.lifecycler\.ring\.kvstore\.store: etcd/);
    assert.doesNotMatch(noStore.stderr, /\n\s+at /, 'no stack trace');
    const noEndpoints = run('ingester:\n  lifecycler:\n    ring:\n      kvstore:\n        store: etcd\n');
    assert.equal(noEndpoints.status, 1);
    assert.match(noEndpoints.stderr, /kvstore\.etcd\.endpoints is empty/);
    const ring = 'ingester:\n  lifecycler:\n    ring:\n      kvstore:\n        store: etcd\n        etcd:\n          endpoints: [http://127.0.0.1:1]\n';
    const noZone = run(ring.replace('      kvstore:', '      zone_awareness_enabled: true\n      kvstore:'));
    assert.equal(noZone.status, 1);
    assert.match(noZone.stderr, /zone_awareness_enabled is true but this ingester has no ingester\.lifecycler\.availability_zone/);
    const skipVerify = run(
      ring.replace('endpoints: [http://127.0.0.1:1]', 'endpoints: [127.0.0.1:1]\n          tls_enabled: true\n          tls_insecure_skip_verify: true'),
    );
    assert.equal(skipVerify.status, 1);
    assert.match(skipVerify.stderr, /tls_insecure_skip_verify: rubato always verifies etcd's certificate/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
