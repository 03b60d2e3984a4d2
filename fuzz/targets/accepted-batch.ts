/**
 * What must hold for any request the receivers accept: every trace in it can be stored, merged and
 * read back by the query path. A request that decodeExportRequest accepts but whose spans the query
 * path cannot decode would be acknowledged data that can never be shown — so any error here, even an
 * OtlpDecodeError, is a finding (InvariantError).
 */
import type { PushBatch, SpanEntry } from '../../src/model/batch.js';
import { decodeTrace } from '../../src/otlp/trace-decode.js';
import { encodeTrace, mergeTraces } from '../../src/otlp/trace-encode.js';
import { traceToTempoJsonV1, traceToTempoJsonV2 } from '../../src/otlp/tempo-json.js';
import { buildEvalTrace } from '../../src/traceql/build-eval-trace.js';
import { InvariantError } from '../engine/target.js';

export function checkAcceptedBatch(batch: PushBatch): void {
  const byTrace = new Map<string, SpanEntry[]>();
  for (const s of batch.spans) {
    if (!/^[0-9a-f]{32}$/.test(s.traceId)) throw new InvariantError(`accepted span has trace ID ${JSON.stringify(s.traceId)}`);
    const group = byTrace.get(s.traceId);
    if (group === undefined) byTrace.set(s.traceId, [s]);
    else group.push(s);
  }
  for (const [traceId, spans] of byTrace) {
    const step = { name: 'encodeTrace' };
    try {
      const stored = encodeTrace(spans);
      step.name = 'mergeTraces';
      // The querier merges copies from live data, WAL and blocks; a second copy must dedupe away.
      const merged = mergeTraces([stored, stored]);
      step.name = 'decodeTrace';
      const trace = decodeTrace(merged);
      let count = 0;
      for (const rs of trace.resourceSpans) {
        for (const ss of rs.scopeSpans) {
          for (const sp of ss.spans) {
            count++;
            if (Buffer.from(sp.traceId).toString('hex') !== traceId)
              throw new InvariantError(`span decoded with trace ID ${Buffer.from(sp.traceId).toString('hex')} in trace ${traceId}`);
          }
        }
      }
      if (count === 0 || count > spans.length) throw new InvariantError(`trace ${traceId}: ${spans.length} spans accepted, ${count} read back after merging`);
      step.name = 'traceToTempoJson';
      JSON.stringify(traceToTempoJsonV1(trace));
      JSON.stringify(traceToTempoJsonV2(trace));
      step.name = 'buildEvalTrace';
      buildEvalTrace(trace);
    } catch (err) {
      if (err instanceof InvariantError) throw err;
      const e = err instanceof Error ? err : new Error(String(err));
      throw new InvariantError(`request accepted, but ${step.name} of its trace ${traceId} failed: ${e.name}: ${e.message}`, { cause: e });
    }
  }
}
