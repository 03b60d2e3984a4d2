// Token checks without a server: hashes, rights, tenants, where a token may be sent, the tokens file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessControl, AuthDenied, grantsFrom } from './access.js';
import { presentedToken } from './credentials.js';
import { hashToken, parseTokenHash } from './token-hash.js';
import { parseTokensFile, readTokensFile } from './tokens-file.js';
import { registry } from '../metrics/registry.js';
import { loadConfig } from '../config/load.js';

const READER = 'reader-token-0123456789abcdef';
const WRITER = 'writer-token-0123456789abcdef';

function control(): AccessControl {
  return new AccessControl(
    grantsFrom(
      [
        { name: 'grafana', hash: hashToken(READER), rights: ['read'], tenants: ['a', 'b'] },
        { name: 'otel', hash: hashToken(WRITER), rights: ['write'], tenants: ['*'] },
      ],
      (i) => `tokens[${i}]`,
    ),
  );
}

function denied(fn: () => unknown, status: number, reason: string): void {
  assert.throws(fn, (err: unknown) => err instanceof AuthDenied && err.status === status && err.reason === reason);
}

test('a token is known by its hash; missing or unknown tokens are 401, a missing right or tenant 403', () => {
  const c = control();
  assert.equal(c.authorize(READER, 'read', 'api').name, 'grafana');
  denied(() => c.authorize(undefined, 'read', 'api'), 401, 'missing_token');
  denied(() => c.authorize('nope', 'read', 'api'), 401, 'unknown_token');
  denied(() => c.authorize(READER, 'write', 'otlp_http'), 403, 'missing_right');
  const g = c.authorize(READER, 'read', 'api');
  c.checkTenants(g, ['a', 'b'], 'api');
  denied(() => c.checkTenants(g, ['a', 'c'], 'api'), 403, 'tenant');
  denied(() => c.checkTenants(g, 'all', 'api'), 403, 'tenant');
  c.checkTenants(c.authorize(WRITER, 'write', 'otlp_grpc'), 'all', 'otlp_grpc');
});

test('refusals are counted by reason and surface', async () => {
  const c = control();
  assert.throws(() => c.authorize('nope', 'read', 'otlp_grpc'));
  const text = await registry.metrics();
  assert.match(text, /rubato_auth_denied_total\{reason="unknown_token",surface="otlp_grpc"\} [1-9]/);
});

test('bad token entries are refused with where they are', () => {
  assert.throws(() => grantsFrom([{ name: 'x', hash: 'plain', rights: ['read'], tenants: ['*'] }], () => 'auth.tokens[0]'), /auth\.tokens\[0\]: token hash/);
  assert.throws(() => grantsFrom([{ name: 'x', hash: hashToken(READER), rights: ['admin'], tenants: ['*'] }], () => 'w'), /unknown right "admin"/);
  assert.throws(() => grantsFrom([{ name: 'x', hash: hashToken(READER), rights: ['read'], tenants: [] }], () => 'w'), /no tenants/);
  assert.equal(typeof parseTokenHash(`sha256:${'A'.repeat(64)}`), 'object');
});

test('the token comes as Bearer, as the password of Basic auth, or in the custom header', () => {
  const from = (h: Record<string, string>) => presentedToken((n) => h[n], 'x-rubato-token');
  assert.equal(from({ authorization: `Bearer ${READER}` }), READER);
  assert.equal(from({ authorization: `bearer  ${READER} ` }), READER);
  assert.equal(from({ authorization: `Basic ${Buffer.from(`grafana:${READER}`).toString('base64')}` }), READER);
  assert.equal(from({ authorization: `Basic ${Buffer.from(`${READER}:`).toString('base64')}` }), READER);
  assert.equal(from({ 'x-rubato-token': READER, authorization: 'Bearer other' }), READER);
  assert.equal(from({ authorization: 'Digest abc' }), undefined);
  assert.equal(from({}), undefined);
});

test('the tokens file: one token a line, comments, and the bad line named', () => {
  const specs = parseTokensFile(
    `# name hash rights tenants\ngrafana ${hashToken(READER)} read a,b  # team A and B\n\notel ${hashToken(WRITER)} read,write *\n`,
    'f',
  );
  assert.deepEqual(
    specs.map((s) => [s.name, s.rights, s.tenants]),
    [
      ['grafana', ['read'], ['a', 'b']],
      ['otel', ['read', 'write'], ['*']],
    ],
  );
  assert.throws(() => parseTokensFile('x sha256:00 read\n', 'tokens.txt'), /tokens\.txt:1: want four fields/);
  const dir = mkdtempSync(join(tmpdir(), 'rubato-tokens-'));
  try {
    const p = join(dir, 'tokens');
    writeFileSync(p, `a ${hashToken(READER)} read *\nb sha256:zz read *\n`);
    assert.throws(() => readTokensFile(p), /token "b": token hash must have 64 hex digits/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad token entry in the config fails loading with its path; a Tempo config without auth leaves it off', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rubato-authcfg-'));
  try {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'auth:\n  enabled: true\n  tokens:\n    - { name: g, hash: "hunter2", rights: [read], tenants: ["*"] }\n');
    assert.throws(() => loadConfig([`-config.file=${file}`], {}), /auth\.tokens\.0.*token hash must look like/s);
    writeFileSync(file, `auth:\n  tokens:\n    - { name: g, hash: "${hashToken(READER)}", rights: [admin], tenants: ["*"] }\n`);
    assert.throws(() => loadConfig([`-config.file=${file}`], {}), /unknown right "admin"/);
    writeFileSync(file, 'multitenancy_enabled: true\n');
    const { config } = loadConfig([`-config.file=${file}`], {});
    assert.equal(config.auth.enabled, false);
    assert.equal(config.query_frontend.multi_tenant_queries_enabled, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
