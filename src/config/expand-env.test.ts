import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandEnv } from './expand-env.js';
import { ConfigError } from './errors.js';

const env = { HOST: 'tempo', EMPTY: '', PORT: '3200' };

test('${VAR} is replaced, unset variables become empty', () => {
  assert.equal(expandEnv('addr: ${HOST}:${PORT}', env), 'addr: tempo:3200');
  assert.equal(expandEnv('x: "${NOPE}"', env), 'x: ""');
});

test('${VAR:-default} uses the default when unset or empty; ${VAR-default} only when unset', () => {
  assert.equal(expandEnv('${NOPE:-/var/tempo}', env), '/var/tempo');
  assert.equal(expandEnv('${EMPTY:-d}', env), 'd');
  assert.equal(expandEnv('${HOST:-d}', env), 'tempo');
  assert.equal(expandEnv('${EMPTY-d}', env), '');
  assert.equal(expandEnv('${NOPE-d}', env), 'd');
  assert.equal(expandEnv('${NOPE:=d}', env), 'd');
});

test('defaults may nest references', () => {
  assert.equal(expandEnv('${NOPE:-${HOST}-x}', env), 'tempo-x');
  assert.equal(expandEnv('${NOPE:-${ALSO_NOPE:-deep}}', env), 'deep');
});

test('$$ escapes a dollar and bare $VAR is left alone, as drone/envsubst does', () => {
  assert.equal(expandEnv('$${HOST}', env), '${HOST}');
  assert.equal(expandEnv('cost: $$5', env), 'cost: $5');
  assert.equal(expandEnv('$HOST', env), '$HOST');
});

test('an unterminated reference is a ConfigError with the line', () => {
  assert.throws(
    () => expandEnv('a: 1\nb: ${HOST', env),
    (e: unknown) => e instanceof ConfigError && /line 2/.test(e.message),
  );
});
