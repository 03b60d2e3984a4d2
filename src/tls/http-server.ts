/**
 * The node server under each fastify app (API port, OTLP/HTTP port): plain HTTP, or HTTPS whose
 * certificate follows a CertificateWatcher (swapped in place with setSecureContext, so open
 * connections and the listening socket stay). Built here, through fastify's serverFactory, because
 * fastify's own `https` option gives no handle for that swap and no hook for Go's client-auth modes.
 * A listener that also serves gRPC (Grafana's streaming on the API port) offers ALPN `h2` too and
 * routes each TLS socket by its negotiated `alpnProtocol`.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
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
export function refuseClient(mode: ClientAuth, socket: TLSSocket): string | null {
  if (mode !== 'RequireAnyClientCert' && mode !== 'VerifyClientCertIfGiven') return null;
  const given = Object.keys(socket.getPeerCertificate()).length > 0;
  if (mode === 'RequireAnyClientCert') return given ? null : 'no_client_certificate';
  return given && !socket.authorized ? 'client_certificate_not_verified' : null;
}

/**
 * A node HTTP(S) server for `handler` with the listener's timeouts (what fastify would set on a
 * server it built). With `tls`, HTTPS that follows the watcher's certificate; with `toGrpc` too, TLS
 * connections that negotiate `h2` are handed to it (plaintext h2c is split by api/h2c.ts).
 */
export function createNodeServer(
  handler: RequestHandler,
  limits: HttpListenerLimits,
  tls: CertificateWatcher | null,
  toGrpc: ((socket: Duplex) => void) | null = null,
): Server {
  let server: Server;
  if (tls === null) {
    server = createHttpServer(handler);
  } else {
    const mode = tls.settings.clientAuth;
    const listener = tls.settings.listener;
    const ALPNProtocols = toGrpc === null ? ['http/1.1'] : ['h2', 'http/1.1'];
    const https = createHttpsServer({ ...tls.current, ...clientCertOptions(mode), ALPNProtocols }, handler);
    const unsubscribe = tls.subscribe((options) => https.setSecureContext(options));
    https.once('close', unsubscribe);
    // In front of the HTTP parser (node's own secureConnection listener), so a refused client never
    // gets a request in, and an `h2` connection reaches gRPC instead of the HTTP/1 parser.
    const httpListeners = https.listeners('secureConnection') as ((socket: TLSSocket) => void)[];
    https.removeAllListeners('secureConnection');
    https.on('secureConnection', (socket: TLSSocket) => {
      const reason = refuseClient(mode, socket);
      if (reason !== null) {
        clientRefusals.inc({ listener, reason });
        socket.destroy();
        return;
      }
      if (toGrpc !== null && socket.alpnProtocol === 'h2') {
        toGrpc(socket);
        return;
      }
      for (const l of httpListeners) l.call(https, socket);
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
