import assert from 'node:assert/strict';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { RubatoProcess } from './rubato-process.js';
import { assertSameTrace, type JsonResourceSpans } from './compare.js';

/** Fetches one trace through v1 JSON and checks it holds exactly these spans. */
export async function assertTraceComplete(rubato: RubatoProcess, spans: readonly ReadableSpan[]): Promise<void> {
  const traceId = spans[0]!.spanContext().traceId;
  const r = await fetch(`${rubato.url}/api/traces/${traceId}`);
  assert.equal(r.status, 200, `trace ${traceId}: HTTP ${r.status}`);
  const body = (await r.json()) as { batches: JsonResourceSpans[] };
  assertSameTrace(body.batches, spans);
}
