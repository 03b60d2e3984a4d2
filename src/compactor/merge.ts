import type { TraceRecord } from '../model/trace-record.js';

/**
 * K-way merge of trace streams each sorted by trace ID. Records with the same ID (from different
 * streams, or repeated within one) are handed to `combine` together; the output is sorted and has each
 * ID once. Inputs are few (a compaction group), so the smallest head is found by a linear scan.
 */
export async function* mergeSortedTraces(
  inputs: readonly AsyncIterable<TraceRecord>[],
  combine: (records: TraceRecord[]) => TraceRecord,
): AsyncGenerator<TraceRecord> {
  const iters = inputs.map((i) => i[Symbol.asyncIterator]());
  const heads: (TraceRecord | null)[] = await Promise.all(iters.map(nextOf));
  try {
    for (;;) {
      let min: string | null = null;
      for (const h of heads) if (h !== null && (min === null || h.traceId < min)) min = h.traceId;
      if (min === null) return;
      const same: TraceRecord[] = [];
      for (let i = 0; i < heads.length; i++) {
        // Drain every record of this ID from stream i (a stream may repeat an ID).
        while (heads[i] !== null && heads[i]!.traceId === min) {
          same.push(heads[i]!);
          heads[i] = await nextOf(iters[i]!);
        }
      }
      yield combine(same);
    }
  } finally {
    await Promise.all(iters.map((it) => it.return?.()));
  }
}

async function nextOf(it: AsyncIterator<TraceRecord>): Promise<TraceRecord | null> {
  const r = await it.next();
  return r.done === true ? null : r.value;
}
