/**
 * The node server under each fastify app (API port, OTLP/HTTP port): plain HTTP, or HTTPS whose
 * certificate follows a CertificateWatcher (swapped in place with setSecureContext, so open
 * connections and the listening socket stay). Built here, through fastify's serverFactory, because
 * fastify's own `https` option gives no handle for that swap and no hook for Go's client-auth modes.
 * ALPN offers only http/1.1 today; a listener that also serves gRPC (h2) would add 'h2' here and
 * route each TLS socket by its negotiated `alpnProtocol`.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { fastifyTimeouts, type HttpListenerLimits } from '../util/http-listener.js';
import type { CertificateWatcher } from './certificate-watcher.js';
import { clientRefusals } from './metrics.js';
import type { ClientAuth } from './settings.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** node's two switches for Go's five client-auth modes; the two node cannot say are checked per connection. */
export function clientCertOptions(mode: ClientAuth): { requestCert: boolean; rejectUnauthorized: boolean } {
  switch (mode) {
    case 'NoClientCert':
      return { requestCert: false, rejectUnauthorized: false };
    case 'RequireAndVerifyClientCert':
      return { requestCert: true, rejectUnauthorized: true };
    default:
      // RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven: asked for, judged in refuseClient.
      return { requestCert: true, rejectUnauthorized: false };
  }
}

/** Why a connection that completed its handshake is still refused under `mode`; null when it may stay. */
function refuseClient(mode: ClientAuth, socket: TLSSocket): string | null {
  if (mode !== 'RequireAnyClientCert' && mode !== 'VerifyClientCertIfGiven') return null;
  const given = Object.keys(socket.getPeerCertificate()).length > 0;
  if (mode === 'RequireAnyClientCert') return given ? null : 'no_client_certificate';
  return given && !socket.authorized ? 'client_certificate_not_verified' : null;
}

/**
 * A node HTTP(S) server for `handler` with the listener's timeouts (what fastify would set on a
 * server it built). With `tls`, HTTPS that follows the watcher's certificate.
 */
export function createNodeServer(handler: RequestHandler, limits: HttpListenerLimits, tls: CertificateWatcher | null): Server {
  let server: Server;
  if (tls === null) {
    server = createHttpServer(handler);
  } else {
    const mode = tls.settings.clientAuth;
    const listener = tls.settings.listener;
    const https = createHttpsServer({ ...tls.current, ...clientCertOptions(mode), ALPNProtocols: ['http/1.1'] }, handler);
    const unsubscribe = tls.subscribe((options) => https.setSecureContext(options));
    https.once('close', unsubscribe);
    // Before the HTTP parser sees the socket, so a refused client never gets a request in.
    https.prependListener('secureConnection', (socket: TLSSocket) => {
      const reason = refuseClient(mode, socket);
      if (reason === null) return;
      clientRefusals.inc({ listener, reason });
      socket.destroy();
    });
    // Plaintext on a TLS port, unknown CAs, missing client certificates under RequireAndVerifyClientCert.
    https.on('tlsClientError', (_err, socket) => {
      clientRefusals.inc({ listener, reason: 'handshake' });
      socket.destroy();
    });
    server = https;
  }
  const t = fastifyTimeouts(limits);
  server.keepAliveTimeout = t.keepAliveTimeout;
  server.requestTimeout = t.requestTimeout;
  server.setTimeout(t.connectionTimeout);
  return server;
}
