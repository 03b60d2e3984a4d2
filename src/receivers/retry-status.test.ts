import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeStatusWithRetryInfo } from './retry-status.js';

test('retry-status: Status{code, message, details:[Any(RetryInfo{retry_delay})]} wire bytes', () => {
  const typeUrl = Buffer.from('type.googleapis.com/google.rpc.RetryInfo');
  const retryInfo = [0x0a, 0x02, 0x08, 0x01]; // retry_delay { seconds: 1 }
  const any = [0x0a, typeUrl.length, ...typeUrl, 0x12, retryInfo.length, ...retryInfo];
  const expected = [0x08, 0x08, 0x12, 0x01, 0x78, 0x1a, any.length, ...any];
  assert.deepEqual([...encodeStatusWithRetryInfo(8, 'x', 1)], expected);
});
