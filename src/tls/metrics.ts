/** TLS certificate reload metrics: an alert on failures or on a near expiry finds a rotation that did not take. */
import { Counter, Gauge } from 'prom-client';
import { registry } from '../metrics/registry.js';

export const certificateReloads = new Counter({
  name: 'rubato_tls_certificate_reloads_total',
  help: 'Changed TLS certificate files taken (success) or refused, keeping the previous certificate (failure), per listener.',
  labelNames: ['listener', 'result'] as const,
  registers: [registry],
});

export const certificateNotAfter = new Gauge({
  name: 'rubato_tls_certificate_not_after_seconds',
  help: 'Expiry (unix seconds) of the certificate each TLS listener serves.',
  labelNames: ['listener'] as const,
  registers: [registry],
});

export const clientRefusals = new Counter({
  name: 'rubato_tls_refused_connections_total',
  help: 'TLS connections refused on an HTTP listener: failed handshakes (plaintext, unknown CA, missing client certificate) and client certificates the client_auth_type refuses.',
  labelNames: ['listener', 'reason'] as const,
  registers: [registry],
});
