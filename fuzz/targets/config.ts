/**
 * Fuzz target: the config file, as `rubato -config.file=… -config.expand-env=true` reads it
 * (loadConfig), then what GET /status/config shows (renderConfig), which must itself load again and
 * render the same. Expected: ConfigError.
 */
import { unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig, renderConfig } from '../../src/config/load.js';
import { InvariantError, type FuzzTarget } from '../engine/target.js';

const file = join(tmpdir(), `rubato-fuzz-config-${process.pid}-${threadId}.yaml`);
const ENV = { FUZZ_PORT: '3200', FUZZ_PATH: '/tmp/rubato-fuzz', FUZZ_EMPTY: '' };

function load(text: string): string {
  writeFileSync(file, text);
  try {
    return renderConfig(loadConfig([`-config.file=${file}`, '-config.expand-env=true'], ENV).config);
  } finally {
    unlinkSync(file);
  }
}

function run(data: Uint8Array): void {
  const rendered = load(Buffer.from(data).toString('utf8'));
  let again: string;
  try {
    // The rendered form has no ${…} left to expand, but `$$` would be unescaped: double it back.
    again = load(rendered.replaceAll('$', '$$'));
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    throw new InvariantError(`the rendered config does not load again: ${e.name}: ${e.message}\n--- rendered ---\n${rendered}`, { cause: e });
  }
  if (again !== rendered) throw new InvariantError(`rendering the rendered config changes it:\n--- first ---\n${rendered}\n--- second ---\n${again}`);
}

export const target: FuzzTarget = {
  name: 'config',
  fuzz: run,
  expected: (err) => err instanceof ConfigError,
  dictionary: [
    '\n',
    '  ',
    ': ',
    '- ',
    '"',
    "'",
    '{',
    '}',
    '[',
    ']',
    ',',
    '#',
    '&a ',
    '*a',
    '<<: ',
    '!!str ',
    '!!int ',
    '|\n',
    '>\n',
    '---\n',
    '...\n',
    '~',
    'null',
    'true',
    'no',
    '0x1F',
    '.inf',
    '1e3',
    '${FUZZ_PORT}',
    '${FUZZ_MISSING:-x}',
    '${FUZZ_EMPTY=y}',
    '${',
    '$$',
    '}',
    'server:',
    'http_listen_port:',
    'http_listen_address:',
    'grpc_listen_port:',
    'log_level:',
    'distributor:',
    'receivers:',
    'otlp:',
    'protocols:',
    'grpc:',
    'http:',
    'endpoint:',
    'ingester:',
    'trace_idle_period:',
    'max_block_bytes:',
    'max_block_duration:',
    'storage:',
    'trace:',
    'backend:',
    'local',
    's3',
    'path:',
    'wal:',
    'local:',
    'compactor:',
    'compaction:',
    'block_retention:',
    'metrics_generator:',
    'processors:',
    'overrides:',
    'defaults:',
    'ingestion:',
    'rate_limit_bytes:',
    'burst_size_bytes:',
    'max_traces_per_user:',
    'per_tenant_override_config:',
    'multitenancy_enabled:',
    'auth_enabled:',
    'target:',
    'all',
    'querier:',
    'query_frontend:',
    'usage_report:',
    'reporting_enabled:',
    '72h',
    '1h30m',
    '5s',
    '100ms',
    '-1s',
    '10MiB',
    '1GB',
    '0',
    '-1',
    '4317',
    '0.0.0.0:4318',
  ],
  maxLen: 2048,
  coverage: ['/dist/src/', '/node_modules/yaml/'],
};
