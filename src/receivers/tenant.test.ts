import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SINGLE_TENANT } from '../model/tenant.js';
import { resolveTenant, TenantError } from './tenant.js';

test('tenant: multitenancy off always gives single-tenant', () => {
  assert.equal(resolveTenant(undefined, false), SINGLE_TENANT);
  assert.equal(resolveTenant('acme', false), SINGLE_TENANT);
});

test('tenant: multitenancy on requires a valid org id', () => {
  assert.equal(resolveTenant('acme-prod_1.eu', true), 'acme-prod_1.eu');
  assert.equal(resolveTenant("a!*'()", true), "a!*'()");
  const kind = (v: string | undefined): string => {
    try {
      resolveTenant(v, true);
      return 'ok';
    } catch (err) {
      assert.ok(err instanceof TenantError);
      return err.kind;
    }
  };
  assert.equal(kind(undefined), 'missing');
  assert.equal(kind(''), 'missing');
  for (const bad of ['.', '..', 'a/b', '../x', 'a|b', 'a b', 'é', 'x'.repeat(151)]) assert.equal(kind(bad), 'invalid', bad);
  assert.equal(kind('x'.repeat(150)), 'ok');
});
