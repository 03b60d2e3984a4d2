/** Refused requests by why and where: the one place an operator sees probing or a misconfigured client. */
import { Counter } from 'prom-client';
import { registry } from '../metrics/registry.js';

export type DenyReason = 'missing_token' | 'unknown_token' | 'missing_right' | 'tenant';
export type AuthSurface = 'api' | 'otlp_grpc' | 'otlp_http';

export const authDenied = new Counter({
  name: 'rubato_auth_denied_total',
  help: 'Requests refused by access control (auth.enabled), by reason (missing_token, unknown_token: 401; missing_right, tenant: 403) and surface (api, otlp_grpc, otlp_http).',
  labelNames: ['reason', 'surface'] as const,
  registers: [registry],
});
