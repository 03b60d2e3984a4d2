import { Counter } from 'prom-client';
import { registry } from '../metrics/registry.js';

/** The API's own metrics (request durations are in metrics/request-duration.ts, shared with Tempo's name). */

export const queryTimeouts = new Counter({
  name: 'rubato_query_timeouts_total',
  help: 'Queries stopped by their deadline (querier.search.query_timeout, querier.trace_by_id.query_timeout).',
  labelNames: ['route'] as const,
  registers: [registry],
});
