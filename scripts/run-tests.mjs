// Runs every compiled test file (dist/**/*.test.js) with Node's own test runner.
// Node 20's `node --test` takes no globs, so the files are found here.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function findTests(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = findTests('dist', []).sort();
if (filter.length > 0) files = files.filter((f) => filter.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files found under dist/');
  process.exit(1);
}
// The timeout catches hangs, not slowness: a browser or TLS file can take minutes on a loaded machine.
const run = (list, env, timeoutMs = 300000) =>
  spawnSync(process.execPath, ['--test', '--test-concurrency=2', `--test-timeout=${timeoutMs}`, ...list], { stdio: 'inherit', env: { ...process.env, ...env } })
    .status ?? 1;
// The cluster test (test/cluster: etcd, MinIO and nine rubato processes) runs alone after the rest, with
// more time: next to other tests on two cores it would only be slower and slow them down.
const clusterDir = join('dist', 'test', 'cluster') + '/';
const clusterFiles = files.filter((f) => f.startsWith(clusterDir));
files = files.filter((f) => !f.startsWith(clusterDir));
let status = files.length > 0 ? run(files, {}) : 0;

// The integration tests again with blocks on S3 (a MinIO each test process starts): the same tests
// must pass on both backends. Left out: the ones about the local disk itself.
const LOCAL_DISK_ONLY = ['damaged-blocks', 'disk-faults'];
const s3Files = files.filter((f) => f.includes(join('test', 'integration')) && !LOCAL_DISK_ONLY.some((n) => f.includes(n)));
if (s3Files.length > 0 && process.env.RUBATO_TEST_BACKEND !== 's3') {
  const minio = process.env.RUBATO_MINIO_BIN || join(homedir(), '.local', 'rubato-tools', 'bin', 'minio');
  if (existsSync(minio)) {
    console.log(`# integration tests on S3 (MinIO ${minio})`);
    status = run(s3Files, { RUBATO_TEST_BACKEND: 's3', RUBATO_MINIO_BIN: minio }) || status;
  } else if (process.env.RUBATO_REQUIRE_S3 === '1') {
    console.error(`MinIO not found at ${minio}: run .ci/run to install it`);
    status = 1;
  } else {
    console.log(`# S3 pass skipped: MinIO not found at ${minio} (.ci/run installs it)`);
  }
}
if (clusterFiles.length > 0) {
  console.log('# cluster tests (distributed mode on etcd and MinIO)');
  status = run(clusterFiles, {}, 600000) || status;
}
process.exit(status);
