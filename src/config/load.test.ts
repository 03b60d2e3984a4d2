import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, defaultConfig, loadConfig, renderConfig, type RubatoConfig } from './load.js';

const SEED = join(process.cwd(), '..', 'shared', 'fixtures', 'seed-deployment', 'tempo.yaml');

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rubato-config-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function file(yaml: string): string {
  const p = join(dir, `c${n++}.yaml`);
  writeFileSync(p, yaml);
  return p;
}

function load(yaml: string, env: Record<string, string> = {}, extra: string[] = []): { config: RubatoConfig; warnings: string[] } {
  return loadConfig([`-config.file=${file(yaml)}`, ...extra], env);
}

function throwsConfigError(fn: () => unknown, key: string | undefined, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    if (key !== undefined) assert.equal(e.key, key);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('seed deployment config', () => {
  test('loads unchanged with only the expected warnings', { skip: !existsSync(SEED) && 'seed fixture not present' }, () => {
    const { config, warnings } = loadConfig([`-config.file=${SEED}`], {});
    assert.equal(config.compactor.compaction.block_retention, 72 * 3_600_000);
    assert.equal(config.server.http_listen_port, 3100);
    assert.equal(config.multitenancy_enabled, false);
    assert.equal(config.storage.trace.backend, 'local');
    assert.equal(config.storage.trace.local.path, '/var/tempo/traces');
    assert.equal(config.storage.trace.wal.path, '/var/tempo/wal');
    assert.equal(config.distributor.receivers.otlp.protocols.grpc?.endpoint, '0.0.0.0:4317');
    assert.equal(config.distributor.receivers.otlp.protocols.http?.endpoint, '0.0.0.0:4318');
    assert.equal(config.overrides.per_tenant_override_config, '/conf/overrides.yaml');

    assert.ok(!warnings.some((w) => w.startsWith('unknown')), `no unknown keys expected: ${warnings.join(' | ')}`);
    assert.ok(warnings.includes('config keys accepted but not used by rubato yet: memberlist, usage_report'), warnings.join(' | '));
    const rest = warnings.filter((w) => !w.startsWith('config keys accepted'));
    if (existsSync('/conf/overrides.yaml')) assert.deepEqual(rest, []);
    else assert.deepEqual(rest, ['overrides.per_tenant_override_config: file /conf/overrides.yaml not found; every tenant uses overrides.defaults']);
  });
});

describe('defaults', () => {
  test('no config file gives the built-in defaults and no warnings', () => {
    const { config, warnings } = loadConfig([], {});
    assert.deepEqual(warnings, []);
    assert.equal(config.target, 'all');
    assert.equal(config.multitenancy_enabled, false);
    assert.equal(config.server.http_listen_address, '0.0.0.0');
    assert.equal(config.server.http_listen_port, 3100);
    assert.equal(config.server.grpc_listen_port, 9095);
    assert.equal(config.server.log_level, 'info');
    assert.equal(config.server.log_format, 'logfmt');
    assert.deepEqual(config.distributor.receivers.otlp.protocols, {
      grpc: { endpoint: '0.0.0.0:4317', max_recv_msg_size_mib: 4 },
      http: { endpoint: '0.0.0.0:4318', max_request_body_size: 20 * 1024 * 1024 },
    });
    assert.equal(config.ingester.trace_idle_period, 10_000);
    assert.equal(config.ingester.max_block_duration, 30 * 60_000);
    assert.equal(config.ingester.max_block_bytes, 524288000);
    assert.equal(config.ingester.complete_block_timeout, 15 * 60_000);
    assert.equal(config.ingester.flush_check_period, 10_000);
    assert.equal(config.ingester.max_live_traces_bytes, 64 * 1024 * 1024);
    assert.equal(config.storage.trace.backend, 'local');
    assert.equal(config.storage.trace.local.path, './data/traces');
    assert.equal(config.storage.trace.wal.path, './data/wal');
    assert.equal(config.compactor.compaction.block_retention, 72 * 3_600_000);
    assert.equal(config.compactor.compaction.compaction_window, 3_600_000);
    assert.equal(config.compactor.compaction.max_block_bytes, 100 * 1024 ** 3);
    assert.equal(config.compactor.compaction.compaction_cycle, 30_000);
    assert.equal(config.overrides.defaults.ingestion.rate_limit_bytes, 15_000_000);
    assert.equal(config.overrides.defaults.global.max_bytes_per_trace, 5_000_000);
    assert.deepEqual(config.overrides.per_tenant, {});
    assert.deepEqual(defaultConfig(), config);
  });

  test('an empty file and empty sections give the defaults', () => {
    assert.deepEqual(load('').config, defaultConfig());
    assert.deepEqual(load('ingester:\nquerier: {}\nserver:\n').config, defaultConfig());
  });
});

describe('values from the file', () => {
  test('durations, sizes and strings are applied', () => {
    const { config, warnings } = load(`
server:
  http_listen_port: 3200
  log_level: debug
  log_format: json
ingester:
  trace_idle_period: 5s
  max_block_duration: 1h30m
  max_block_bytes: 100MB
  max_live_traces_bytes: 32MiB
compactor:
  compaction:
    block_retention: 1d
    compaction_cycle: 0
multitenancy_enabled: true
`);
    assert.deepEqual(warnings, []);
    assert.equal(config.server.http_listen_port, 3200);
    assert.equal(config.server.log_level, 'debug');
    assert.equal(config.server.log_format, 'json');
    assert.equal(config.ingester.trace_idle_period, 5000);
    assert.equal(config.ingester.max_block_duration, 90 * 60_000);
    assert.equal(config.ingester.max_block_bytes, 100 * 1024 * 1024);
    assert.equal(config.ingester.max_live_traces_bytes, 32 * 1024 * 1024);
    assert.equal(config.compactor.compaction.block_retention, 86_400_000);
    assert.equal(config.compactor.compaction.compaction_cycle, 0);
    assert.equal(config.multitenancy_enabled, true);
  });

  test('-target on the command line wins over the file; --flags are accepted too', () => {
    const p = file('target: querier\n');
    assert.equal(loadConfig([`--config.file=${p}`], {}).config.target, 'querier');
    assert.equal(loadConfig(['-config.file', p, '-target=ingester'], {}).config.target, 'ingester');
  });

  test('legacy auth_enabled and flat overrides are read', () => {
    const { config, warnings } = load(`
auth_enabled: true
overrides:
  ingestion_rate_limit_bytes: 1000
  max_bytes_per_trace: 2MB
  max_traces_per_user: 7
  block_retention: 24h
`);
    assert.deepEqual(warnings, []);
    assert.equal(config.multitenancy_enabled, true);
    assert.equal(config.overrides.defaults.ingestion.rate_limit_bytes, 1000);
    assert.equal(config.overrides.defaults.ingestion.max_traces_per_user, 7);
    assert.equal(config.overrides.defaults.global.max_bytes_per_trace, 2 * 1024 * 1024);
    assert.equal(config.overrides.defaults.compaction.block_retention, 24 * 3_600_000);
  });

  test('new overrides layout is read', () => {
    const { config } = load(`
overrides:
  defaults:
    ingestion:
      rate_limit_bytes: 30000000
      burst_size_bytes: 40000000
      max_traces_per_user: 50000
    global:
      max_bytes_per_trace: 10000000
`);
    assert.equal(config.overrides.defaults.ingestion.rate_limit_bytes, 30_000_000);
    assert.equal(config.overrides.defaults.ingestion.burst_size_bytes, 40_000_000);
    assert.equal(config.overrides.defaults.ingestion.max_traces_per_user, 50_000);
    assert.equal(config.overrides.defaults.global.max_bytes_per_trace, 10_000_000);
  });
});

describe('receivers', () => {
  test('only grpc listed enables only grpc', () => {
    const { config } = load('distributor:\n  receivers:\n    otlp:\n      protocols:\n        grpc:\n');
    assert.deepEqual(config.distributor.receivers.otlp.protocols, { grpc: { endpoint: '0.0.0.0:4317', max_recv_msg_size_mib: 4 }, http: null });
  });

  test('only http listed enables only http, with its endpoint', () => {
    const { config } = load('distributor:\n  receivers:\n    otlp:\n      protocols:\n        http:\n          endpoint: 127.0.0.1:14318\n');
    assert.deepEqual(config.distributor.receivers.otlp.protocols, {
      grpc: null,
      http: { endpoint: '127.0.0.1:14318', max_request_body_size: 20 * 1024 * 1024 },
    });
  });

  test('jaeger and zipkin are accepted and reported as not used', () => {
    const { config, warnings } = load(`
distributor:
  receivers:
    jaeger:
      protocols:
        thrift_http:
    zipkin:
    otlp:
      protocols:
        grpc:
          max_recv_msg_size_mib: 16
`);
    assert.equal(config.distributor.receivers.otlp.protocols.grpc?.max_recv_msg_size_mib, 16);
    assert.deepEqual(warnings, ['config keys accepted but not used by rubato yet: distributor.receivers.jaeger, distributor.receivers.zipkin']);
  });

  test('otlp with no protocol is an error naming the key', () => {
    throwsConfigError(() => load('distributor:\n  receivers:\n    otlp: {}\n'), 'distributor.receivers.otlp.protocols', /at least one of grpc, http/);
  });
});

describe('warnings', () => {
  test('unknown keys anywhere are listed in one warning by dotted path', () => {
    const { warnings } = load(`
foo:
  bar: 1
ingester:
  baz: true
  trace_idle_period: 5s
storage:
  trace:
    local:
      path: /tmp/x
      nope: 1
`);
    assert.deepEqual(warnings, ['unknown or unsupported config keys ignored: foo, ingester.baz, storage.trace.local.nope']);
  });

  test('accepted-but-unused keys get their own warning', () => {
    const { warnings } = load(`
metrics_generator:
  ring: {}
memberlist:
  join_members: []
ingester:
  lifecycler:
    join_after: 0s
    ring:
      replication_factor: 1
storage:
  trace:
    pool:
      max_workers: 100
    block:
      version: vParquet4
server:
  tls_cipher_suites: TLS_AES_128_GCM_SHA256
`);
    assert.deepEqual(warnings, [
      'config keys accepted but not used by rubato yet: metrics_generator.ring, memberlist, ingester.lifecycler.join_after, storage.trace.pool, storage.trace.block.version, server.tls_cipher_suites',
    ]);
  });

  test('unknown command-line flags are a warning', () => {
    const { warnings } = loadConfig(['-mem-ballast-size-mbs=1024'], {});
    assert.deepEqual(warnings, ['unknown command-line arguments ignored: -mem-ballast-size-mbs=1024']);
  });
});

describe('errors', () => {
  test('wrong types name the key and what was expected', () => {
    throwsConfigError(() => load('server:\n  http_listen_port: abc\n'), 'server.http_listen_port', /server\.http_listen_port: expected an integer, got "abc"/);
    throwsConfigError(
      () => load('ingester:\n  trace_idle_period: 5 parsecs\n'),
      'ingester.trace_idle_period',
      /ingester\.trace_idle_period: expected a duration/,
    );
    throwsConfigError(
      () => load('storage:\n  trace:\n    backend: tape\n'),
      'storage.trace.backend',
      /storage\.trace\.backend: expected one of local, s3, gcs, azure, got "tape"/,
    );
    throwsConfigError(() => load('server:\n  log_level: verbose\n'), 'server.log_level', /expected one of debug, info, warn, error/);
    throwsConfigError(() => load('ingester:\n  max_block_bytes: lots\n'), 'ingester.max_block_bytes', /expected a size/);
    throwsConfigError(() => load('multitenancy_enabled: maybe\n'), 'multitenancy_enabled', /expected true or false/);
    throwsConfigError(() => load('server: 5\n'), 'server', /server: expected a mapping, got 5/);
    throwsConfigError(() => load('server:\n  http_listen_port: 70000\n'), 'server.http_listen_port', /from 0 to 65535/);
    throwsConfigError(() => loadConfig(['-target=everything'], {}), 'target', /target: expected one of all, distributor/);
  });

  test('the message names the file and every problem', () => {
    const p = file('server:\n  http_listen_port: abc\ningester:\n  flush_check_period: often\n');
    throwsConfigError(
      () => loadConfig([`-config.file=${p}`], {}),
      'server.http_listen_port',
      new RegExp(`in ${p}: server.http_listen_port: .*; ingester.flush_check_period: `),
    );
  });

  test('backends other than local and s3 are not implemented yet', () => {
    throwsConfigError(() => load('storage:\n  trace:\n    backend: gcs\n'), 'storage.trace.backend', /storage\.trace\.backend: gcs is not implemented yet/);
  });

  test("s3 takes Tempo's keys and needs a bucket", () => {
    const { config } = load(
      'storage:\n  trace:\n    backend: s3\n    s3:\n      bucket: traces\n      endpoint: minio:9000\n      insecure: true\n      forcepathstyle: true\n      prefix: a/b\n      cache_bytes: 64MiB\n',
    );
    assert.equal(config.storage.trace.s3.bucket, 'traces');
    assert.equal(config.storage.trace.s3.forcepathstyle, true);
    assert.equal(config.storage.trace.s3.cache_bytes, 64 * 1024 * 1024);
    throwsConfigError(() => load('storage:\n  trace:\n    backend: s3\n'), 'storage.trace.s3.bucket', /storage\.trace\.s3\.bucket: required/);
  });

  test('a missing config file names the path', () => {
    const p = join(dir, 'does-not-exist.yaml');
    throwsConfigError(() => loadConfig([`-config.file=${p}`], {}), 'config.file', new RegExp(`config file not found: ${p}`));
  });

  test('invalid YAML names the line', () => {
    throwsConfigError(() => load('server:\n  http_listen_port: 3100\n bad indent: [\n'), undefined, /invalid YAML in .* at line \d+/);
  });

  test('a top level that is not a mapping is refused', () => {
    throwsConfigError(() => load('- a\n- b\n'), undefined, /expected a mapping of keys at the top level/);
  });
});

describe('-config.expand-env', () => {
  const yaml = `
server:
  http_listen_port: \${PORT}
storage:
  trace:
    local:
      path: \${DATA:-/var/tempo}/traces
    wal:
      path: \${DATA:-/var/tempo}/wal
`;

  test('expands ${VAR} and ${VAR:-default} when the flag is set', () => {
    const { config } = load(yaml, { PORT: '3333' }, ['-config.expand-env=true']);
    assert.equal(config.server.http_listen_port, 3333);
    assert.equal(config.storage.trace.local.path, '/var/tempo/traces');
    const withData = load(yaml, { PORT: '3333', DATA: '/data' }, ['-config.expand-env']).config;
    assert.equal(withData.storage.trace.wal.path, '/data/wal');
  });

  test('leaves the text alone without the flag', () => {
    throwsConfigError(() => load(yaml, { PORT: '3333' }), 'server.http_listen_port', /got "\$\{PORT\}"/);
  });
});

describe('per-tenant overrides file', () => {
  test('a missing file is a warning, not an error', () => {
    const missing = join(dir, 'missing-overrides.yaml');
    const { config, warnings } = load(`overrides:\n  per_tenant_override_config: ${missing}\n`);
    assert.deepEqual(config.overrides.per_tenant, {});
    assert.deepEqual(warnings, [`overrides.per_tenant_override_config: file ${missing} not found; every tenant uses overrides.defaults`]);
  });

  test('a present file is parsed per tenant, over the defaults, in both layouts', () => {
    const overrides = file(`
overrides:
  team-a:
    ingestion:
      rate_limit_bytes: 5MB
  team-b:
    max_traces_per_user: 3
    block_retention: 12h
`);
    const { config, warnings } = load(`
overrides:
  defaults:
    ingestion:
      burst_size_bytes: 123
  per_tenant_override_config: ${overrides}
`);
    assert.deepEqual(warnings, []);
    const a = config.overrides.per_tenant['team-a'];
    const b = config.overrides.per_tenant['team-b'];
    assert.ok(a !== undefined && b !== undefined);
    assert.equal(a.ingestion.rate_limit_bytes, 5 * 1024 * 1024);
    assert.equal(a.ingestion.burst_size_bytes, 123);
    assert.equal(b.ingestion.max_traces_per_user, 3);
    assert.equal(b.ingestion.rate_limit_bytes, 15_000_000);
    assert.equal(b.compaction.block_retention, 12 * 3_600_000);
  });

  test('the seed overrides file (overrides: {}) loads to no tenants', () => {
    const overrides = file('overrides: {}\n');
    const { config, warnings } = load(`overrides:\n  per_tenant_override_config: ${overrides}\n`);
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.overrides.per_tenant, {});
  });

  test('wrong values in the file are a ConfigError naming tenant and key', () => {
    const overrides = file('overrides:\n  t1:\n    ingestion:\n      max_traces_per_user: lots\n');
    throwsConfigError(
      () => load(`overrides:\n  per_tenant_override_config: ${overrides}\n`),
      'overrides.t1.ingestion.max_traces_per_user',
      /expected an integer/,
    );
  });
});

describe('renderConfig', () => {
  test('prints durations in Go form and reads back to the same config', () => {
    const { config } = load(`
ingester:
  trace_idle_period: 1m30s
compactor:
  compaction:
    block_retention: 72h
distributor:
  receivers:
    otlp:
      protocols:
        http:
`);
    const text = renderConfig(config);
    assert.match(text, /block_retention: 72h0m0s/);
    assert.match(text, /trace_idle_period: 1m30s/);
    assert.doesNotMatch(text, /grpc:/);
    assert.doesNotMatch(text, /^\s*per_tenant:/m);
    const again = loadConfig([`-config.file=${file(text)}`], {});
    assert.deepEqual(again.warnings, []);
    assert.deepEqual(again.config, config);
  });

  test('masks secrets', () => {
    const { config } = load('storage:\n  trace:\n    s3:\n      secret_key: hunter2\n');
    const text = renderConfig(config);
    assert.doesNotMatch(text, /hunter2/);
    assert.match(text, /secret_key: "\*+"/);
  });
});

describe('YAML the fuzzer found', () => {
  test('unresolved aliases, merges of lists and alias bombs are config errors, not crashes', () => {
    assert.throws(
      () => load('server: *nowhere\n'),
      (e: unknown) => e instanceof ConfigError && /Unresolved alias/.test(e.message),
    );
    assert.throws(
      () => load('ingester: &x [1]\nquerier:\n  <<: *x\n'),
      (e: unknown) => e instanceof ConfigError && /Merge sources/.test(e.message),
    );
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
    ].join('\n');
    assert.throws(
      () => load(bomb),
      (e: unknown) => e instanceof ConfigError,
    );
  });

  test('a config with every receiver off renders to YAML that loads again', () => {
    const { config } = load('distributor:\n  receivers: {}\n');
    assert.equal(config.distributor.receivers.otlp.protocols.grpc, null);
    const again = load(renderConfig(config)).config;
    assert.deepEqual(again.distributor.receivers, config.distributor.receivers);
  });
});
