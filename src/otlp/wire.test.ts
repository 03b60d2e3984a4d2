import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OtlpDecodeError } from './errors.js';
import { WireReader, WireWriter, varintSize } from './wire.js';

describe('wire', () => {
  it('round trips varints, fixed, doubles and strings', () => {
    const nums = [0, 1, 127, 128, 300, 16383, 16384, 2 ** 28 - 1, 2 ** 28, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35 + 7, 2 ** 53 - 1];
    const bigs = [0n, 1n, -1n, -(2n ** 63n), 2n ** 63n - 1n, 1234567890123456789n, -5n];
    const strs = ['', 'a', 'ascii '.repeat(30), 'héllo wörld', '日本語'.repeat(50), '🎉 emoji', 'x'.repeat(20000)];
    const w = new WireWriter(4);
    for (const n of nums) {
      const before = w.pos;
      w.varint(n);
      assert.equal(w.pos - before, varintSize(n), `varintSize(${n})`);
    }
    for (const b of bigs) w.varint64(b);
    for (const n of nums) w.fixed64Number(n);
    w.fixed64(2n ** 64n - 1n);
    w.fixed32(0xffffffff);
    w.double(-1.25e300);
    for (const s of strs) w.string(s);
    const r = new WireReader(w.finish());
    for (const n of nums) assert.equal(r.varintNumber(), n);
    for (const b of bigs) assert.equal(r.varintInt64(), b);
    for (const n of nums) assert.equal(r.fixed64Number(), n);
    assert.equal(r.fixed64(), 2n ** 64n - 1n);
    assert.equal(r.fixed32(), 0xffffffff);
    assert.equal(r.double(), -1.25e300);
    for (const s of strs) assert.equal(r.string(), s);
    assert.ok(r.eof());
  });

  it('writes nested messages of every length-prefix size', () => {
    for (const size of [0, 1, 127, 128, 16383, 16384, 70000]) {
      const w = new WireWriter(8);
      w.tag(3, 0);
      w.varint(9);
      const outer = w.beginMessage(1);
      const inner = w.beginMessage(2);
      w.raw(new Uint8Array(size).fill(0xab));
      w.endMessage(inner);
      w.endMessage(outer);
      w.stringField(4, 'end');
      const r = new WireReader(w.finish());
      assert.equal(r.tag(), (3 << 3) | 0);
      assert.equal(r.varint32(), 9);
      assert.equal(r.tag(), (1 << 3) | 2);
      const outerEnd = r.lenEnd();
      assert.equal(r.tag(), (2 << 3) | 2);
      const b = r.bytes();
      assert.equal(b.length, size);
      assert.ok(b.every((x) => x === 0xab));
      assert.equal(r.pos, outerEnd);
      assert.equal(r.tag(), (4 << 3) | 2);
      assert.equal(r.string(), 'end');
    }
  });

  it('rejects truncation, overlong varints, field 0 and groups', () => {
    const bad: [number[], RegExp][] = [
      [[0x80], /truncated varint/],
      [[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], /longer than 10/],
      [[0x00], /field number 0/],
      [[0x0b], /wire type start-group/],
      [[0x0e], /wire type invalid/],
      [[0x0a, 0x05, 1, 2], /runs past/],
      [[0x09, 1, 2, 3], /truncated fixed64/],
      [[0x0d, 1], /truncated fixed32/],
    ];
    for (const [bytes, re] of bad) {
      assert.throws(
        () => {
          const r = new WireReader(new Uint8Array(bytes));
          while (!r.eof()) r.skip(r.tag() & 7);
        },
        (e: unknown) => e instanceof OtlpDecodeError && re.test(e.message),
        `${bytes.join(',')}`,
      );
    }
  });
});
