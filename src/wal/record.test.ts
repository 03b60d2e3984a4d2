import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRecord, encodeRecord, HEADER_BYTES, MAX_TENANT_BYTES, newRecordView, encodeRecordHead } from './record.js';

test('record round trip, back to back', () => {
  const a = encodeRecord('tenant-ä', Buffer.from('hello'));
  const b = encodeRecord('', new Uint8Array(0));
  const buf = Buffer.concat([a, b]);
  const v = newRecordView();
  assert.equal(decodeRecord(buf, 0, buf.length, v), 'ok');
  assert.equal(buf.toString('utf8', v.tenantStart, v.tenantEnd), 'tenant-ä');
  assert.equal(buf.toString('utf8', v.payloadStart, v.payloadEnd), 'hello');
  assert.equal(v.next, a.length);
  assert.equal(decodeRecord(buf, v.next, buf.length, v), 'ok');
  assert.equal(v.tenantEnd - v.tenantStart, 0);
  assert.equal(v.payloadEnd - v.payloadStart, 0);
  assert.equal(v.next, buf.length);
});

test('every truncation is short, every flipped byte is caught', () => {
  const rec = encodeRecord('t1', Buffer.from('some payload bytes'));
  const v = newRecordView();
  for (let n = 0; n < rec.length; n++) assert.equal(decodeRecord(rec, 0, n, v), 'short', `len ${n}`);
  for (let i = 0; i < rec.length; i++) {
    const bad = Buffer.from(rec);
    bad[i] = bad[i]! ^ 0x10;
    // A flipped length bit can make the record look longer than the buffer: that is 'short'.
    assert.notEqual(decodeRecord(bad, 0, bad.length, v), 'ok', `byte ${i}`);
  }
  assert.equal(decodeRecord(Buffer.alloc(HEADER_BYTES + 4), 0, HEADER_BYTES + 4, v), 'corrupt');
});

test('tenant longer than the limit is refused', () => {
  assert.throws(() => encodeRecordHead('x'.repeat(MAX_TENANT_BYTES + 1), new Uint8Array(1)), RangeError);
});
