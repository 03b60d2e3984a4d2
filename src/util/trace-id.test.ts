import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTraceId } from './trace-id.js';

test('parseTraceId pads short IDs and refuses bad ones', () => {
  assert.equal(parseTraceId('ABC'), '00000000000000000000000000000abc');
  assert.equal(parseTraceId('0123456789abcdef0123456789abcdef'), '0123456789abcdef0123456789abcdef');
  assert.equal(parseTraceId('xyz'), null);
  assert.equal(parseTraceId(''), null);
  assert.equal(parseTraceId('0'.repeat(33)), null);
  assert.equal(parseTraceId('0000'), null);
});
