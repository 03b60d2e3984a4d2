import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeExportResponse, encodeRpcStatus, exportResponseJson } from './export-response.js';
import { encodeTraceByIdResponse } from './tempo-proto.js';
import { WireReader } from './wire.js';

describe('export responses', () => {
  it('is empty when nothing was rejected', () => {
    assert.equal(encodeExportResponse(0, '').length, 0);
    assert.deepEqual(exportResponseJson(0, ''), {});
  });

  it('encodes partial success', () => {
    const r = new WireReader(encodeExportResponse(3, 'too old'));
    assert.equal(r.tag(), 0x0a);
    const end = r.lenEnd();
    assert.equal(r.tag(), 0x08);
    assert.equal(r.varintInt64(), 3n);
    assert.equal(r.tag(), 0x12);
    assert.equal(r.string(), 'too old');
    assert.equal(r.pos, end);
    assert.ok(r.eof());
    assert.deepEqual(exportResponseJson(3, 'too old'), { partialSuccess: { rejectedSpans: '3', errorMessage: 'too old' } });
  });

  it('encodes google.rpc.Status', () => {
    const r = new WireReader(encodeRpcStatus(3, 'bad body'));
    assert.equal(r.tag(), 0x08);
    assert.equal(r.varint32(), 3);
    assert.equal(r.tag(), 0x12);
    assert.equal(r.string(), 'bad body');
    assert.ok(r.eof());
    assert.equal(encodeRpcStatus(0, '').length, 0);
  });

  it('wraps a trace in TraceByIDResponse', () => {
    const trace = new Uint8Array(300).fill(7);
    const r = new WireReader(encodeTraceByIdResponse(trace, { inspectedBytes: 1000, partial: true, message: 'm' }));
    assert.equal(r.tag(), 0x0a);
    assert.deepEqual(r.bytes(), trace);
    assert.equal(r.tag(), 0x12);
    const end = r.lenEnd();
    assert.equal(r.tag(), 0x08);
    assert.equal(r.varintNumber(), 1000);
    assert.equal(r.pos, end);
    assert.equal(r.tag(), 0x18);
    assert.equal(r.varint32(), 1);
    assert.equal(r.tag(), 0x22);
    assert.equal(r.string(), 'm');
    assert.deepEqual(encodeTraceByIdResponse(new Uint8Array(0)), new Uint8Array([0x0a, 0]));
  });
});
