/**
 * The distributor's forwarding to metrics generators in distributed mode. Service graphs pair a
 * trace's client and server spans, so every span of a trace must reach the same generator: a push
 * (one OTLP request) may hold spans of many traces, and each trace goes to the generator owning its
 * token. Best effort: generators hold derived data, so a down or slow generator never holds up or
 * refuses an acknowledged push; what is dropped is logged and counted (Tempo's
 * tempo_distributor_metrics_generator_pushes{,_failures}_total).
 */
import { Counter } from 'prom-client';
import type { Logger } from 'pino';
import type { PushBatch, SpanEntry } from '../model/batch.js';
import type { PushResult } from '../model/pusher.js';
import { registry } from '../metrics/registry.js';
import { encodeTrace } from '../otlp/trace-encode.js';
import { isHealthy, traceToken, type RingInstance, type RingView } from './ring.js';

const pushes = new Counter({
  name: 'tempo_distributor_metrics_generator_pushes_total',
  help: 'Pushes forwarded to each metrics generator.',
  labelNames: ['metrics_generator'],
  registers: [registry],
});
const failures = new Counter({
  name: 'tempo_distributor_metrics_generator_pushes_failures_total',
  help: 'Pushes to a metrics generator that failed or were dropped because it was unhealthy.',
  labelNames: ['metrics_generator'],
  registers: [registry],
});

export interface GeneratorForwarderOptions {
  /** The metrics-generator ring as it is now. */
  readonly ring: () => RingView;
  readonly heartbeatTimeoutMs: number;
  readonly send: (inst: RingInstance, tenant: string, payload: Uint8Array) => Promise<unknown>;
  readonly logger: Logger;
}

/** Forwards the accepted spans of a push, each trace to its generator; never throws, never waits. */
export type GeneratorForwarder = (batch: PushBatch, result: PushResult) => void;

export function createGeneratorForwarder(opts: GeneratorForwarderOptions): GeneratorForwarder {
  return (batch, result) => {
    const view = opts.ring();
    if (view.instances.length === 0) return;
    // Spans the ingesters refused (limits) are not counted, as in one process.
    const spans = result.accepted ?? batch.spans;
    if (spans.length === 0) return;
    const now = Date.now();
    const owners = new Map<string, RingInstance | undefined>();
    const perGenerator = new Map<string, { inst: RingInstance; spans: SpanEntry[] }>();
    const dropped = new Set<string>();
    for (const s of spans) {
      let owner = owners.get(s.traceId);
      if (!owners.has(s.traceId)) {
        owner = view.replicasFor(traceToken(batch.tenant, s.traceId), 1)[0];
        owners.set(s.traceId, owner);
      }
      if (owner === undefined) continue;
      if (!isHealthy(owner, now, opts.heartbeatTimeoutMs)) {
        dropped.add(owner.id);
        continue;
      }
      let e = perGenerator.get(owner.id);
      if (e === undefined) perGenerator.set(owner.id, (e = { inst: owner, spans: [] }));
      e.spans.push(s);
    }
    for (const id of dropped) failures.inc({ metrics_generator: id });
    for (const { inst, spans: part } of perGenerator.values()) {
      const payload = part.length === batch.spans.length ? batch.payload : encodeTrace(part);
      pushes.inc({ metrics_generator: inst.id });
      opts.send(inst, batch.tenant, payload).catch((err: unknown) => {
        failures.inc({ metrics_generator: inst.id });
        opts.logger.warn({ err: String(err), generator: inst.id }, 'forwarding to the metrics generator failed');
      });
    }
  };
}
