/**
 * Test-only: small deterministic traces whose spans carry event, link and instrumentation-scope
 * attributes and both the old and the new semantic-convention names of the shared dedicated columns
 * (http.method / http.request.method, http.status_code / http.response.status_code), alone and
 * together with different values. The old-format block fixture (test/fixtures/blocks/) was written
 * from these same traces, so tests can compare its answers with the evaluator's over them.
 */
import { WireWriter } from '../../src/otlp/wire.js';
import type { TraceRecord } from '../../src/model/trace-record.js';

type Value = string | number | bigint | boolean;

function kv(w: WireWriter, field: number, key: string, value: Value): void {
  const m = w.beginMessage(field);
  w.stringField(1, key);
  const v = w.beginMessage(2);
  if (typeof value === 'string') w.stringField(1, value);
  else if (typeof value === 'boolean') {
    w.tag(2, 0);
    w.varint(value ? 1 : 0);
  } else if (typeof value === 'bigint') {
    w.tag(3, 0);
    w.varint64(value);
  } else {
    w.tag(4, 1);
    w.double(value);
  }
  w.endMessage(v);
  w.endMessage(m);
}

const BASE_NS = 1_767_225_600_000_000_000n;
const METHODS = ['GET', 'POST', 'PUT'];

/** The semantic-convention attributes of span `j` of trace `i`: every combination appears. */
export function semconvAttrs(i: number, j: number): [string, Value][] {
  const m = METHODS[(i + j) % 3]!;
  const other = METHODS[(i + j + 1) % 3]!;
  const code = BigInt(200 + ((i * 7 + j) % 4) * 100);
  switch ((i + j) % 5) {
    case 0:
      return [
        ['http.method', m],
        ['http.status_code', code],
      ];
    case 1:
      return [
        ['http.request.method', m],
        ['http.response.status_code', code],
      ];
    case 2:
      // Both names, different values: a query on one must not be answered from the other.
      return [
        ['http.request.method', m],
        ['http.method', other],
        ['http.response.status_code', code],
        ['http.status_code', code + 1n],
      ];
    case 3:
      return [
        ['http.status_code', `${code}`],
        ['http.response.status_code', 201.5],
      ];
    default:
      return [];
  }
}

/** `count` traces of 4 spans, sorted by trace ID. */
export function scopedAttrTraces(count = 24): TraceRecord[] {
  const out: TraceRecord[] = [];
  for (let i = 0; i < count; i++) {
    const traceId = (0x10 + i).toString(16).padStart(2, '0') + 'ab'.repeat(15);
    const tid = Buffer.from(traceId, 'hex');
    const w = new WireWriter();
    const rs = w.beginMessage(1);
    const res = w.beginMessage(1);
    kv(w, 1, 'service.name', `svc-${i % 3}`);
    w.endMessage(res);
    const ss = w.beginMessage(2);
    const scope = w.beginMessage(1);
    w.stringField(1, i % 2 === 0 ? 'lib-a' : 'lib-b');
    w.stringField(2, `1.${i % 3}`);
    kv(w, 3, 'scope.tier', i % 2 === 0 ? 'gold' : 'silver');
    if (i % 4 === 1) kv(w, 3, 'scope.shard', BigInt(i));
    w.endMessage(scope);
    for (let j = 0; j < 4; j++) {
      const sp = w.beginMessage(2);
      const start = BASE_NS + BigInt(i) * 1_000_000_000n + BigInt(j) * 1_000_000n;
      w.bytesField(1, tid);
      w.bytesField(2, Uint8Array.from([i, j, 1, 2, 3, 4, 5, 6 + j]));
      if (j > 0) w.bytesField(4, Uint8Array.from([i, 0, 1, 2, 3, 4, 5, 6]));
      w.stringField(5, j === 0 ? 'root' : `child-${j}`);
      w.tag(6, 0);
      w.varint(j === 0 ? 2 : 3);
      w.tag(7, 1);
      w.fixed64(start);
      w.tag(8, 1);
      w.fixed64(start + BigInt(1 + j) * 1_000_000n);
      for (const [k, v] of semconvAttrs(i, j)) kv(w, 9, k, v);
      if ((i + j) % 3 === 0) {
        const e = w.beginMessage(11);
        w.tag(1, 1);
        w.fixed64(start + 10n);
        w.stringField(2, 'exception');
        kv(w, 3, 'exception.type', `Type${i % 4}`);
        kv(w, 3, 'exception.escaped', i % 2 === 0);
        w.endMessage(e);
      }
      if (j === 2) {
        const e = w.beginMessage(11);
        w.stringField(2, 'log');
        kv(w, 3, 'log.level', i % 2 === 0 ? 'info' : 'warn');
        w.endMessage(e);
      }
      if ((i + j) % 4 === 1) {
        const l = w.beginMessage(13);
        w.bytesField(1, Buffer.from(`${(0x80 + i).toString(16)}${'cd'.repeat(15)}`, 'hex'));
        w.bytesField(2, Uint8Array.from([9, 9, 9, 9, 9, 9, 9, i]));
        kv(w, 4, 'link.reason', i % 3 === 0 ? 'retry' : 'fanout');
        kv(w, 4, 'link.weight', BigInt(i % 5));
        w.endMessage(l);
      }
      w.endMessage(sp);
    }
    w.endMessage(ss);
    w.endMessage(rs);
    out.push({ traceId, trace: w.finish() });
  }
  return out;
}
