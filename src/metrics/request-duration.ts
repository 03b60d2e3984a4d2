import { Histogram } from 'prom-client';
import { registry } from './registry.js';

/** Tempo's request histogram, labelled by route, as its dashboards expect. */
export const requestDuration = new Histogram({
  name: 'tempo_request_duration_seconds',
  help: 'Time (in seconds) spent serving HTTP and gRPC requests.',
  labelNames: ['method', 'route', 'status_code', 'ws'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100],
  registers: [registry],
});
