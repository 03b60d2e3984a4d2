// The mapping from WAL write errors to push refusals decides whether OTLP clients retry or drop data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PushError } from '../model/pusher.js';
import { isTransientIoError, retryableWriteFailure } from './io-errors.js';

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: failed, write`), { code });
}

test('a full disk or a failing device refuses the push as retryable; anything else is left alone', () => {
  for (const code of ['ENOSPC', 'EDQUOT', 'EIO', 'EMFILE', 'ENFILE', 'EROFS']) {
    assert.ok(isTransientIoError(errno(code)), code);
    const refusal = retryableWriteFailure(errno(code));
    assert.ok(refusal instanceof PushError);
    assert.equal(refusal.kind, 'unavailable');
    assert.match(refusal.message, new RegExp(code));
  }
  assert.match(retryableWriteFailure(errno('ENOSPC'))!.message, /disk is full/);
  for (const err of [errno('EEXIST'), errno('EACCES'), new Error('wal: closed'), null, 'ENOSPC']) {
    assert.equal(isTransientIoError(err), false);
    assert.equal(retryableWriteFailure(err), null);
  }
});
