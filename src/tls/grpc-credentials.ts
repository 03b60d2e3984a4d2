/**
 * grpc-js server credentials that follow a CertificateWatcher. grpc-js's ServerCredentials is built
 * for this: a server registers a watcher on its credentials and calls setSecureContext on its own
 * HTTP/2 server whenever the credentials push new options (updateSecureContextOptions, the hook its
 * own certificate-provider credentials use). The watcher only pushes options that already loaded,
 * since grpc-js drops every new connection while its last update failed.
 * Also the distributed targets' internal gRPC: its TLS listener in front of grpc-js, and the clients'
 * channel credentials.
 */
import type { SecureServerOptions } from 'node:http2';
import { createServer as createTlsServer } from 'node:tls';
import { credentials, ServerCredentials, type ChannelCredentials, type ChannelOptions, type Server } from '@grpc/grpc-js';
import type { WarnLogger } from '../model/logger.js';
import type { CertificateWatcher } from './certificate-watcher.js';
import { clientCertOptions, refuseClient } from './http-server.js';
import { clientRefusals } from './metrics.js';
import type { GrpcClientTls } from './settings.js';

class WatchedServerCredentials extends ServerCredentials {
  constructor(watcher: CertificateWatcher) {
    const mtls = watcher.settings.clientAuth === 'RequireAndVerifyClientCert';
    // Held for the server's life (requestCert is a server option, not a context one).
    const serverOptions: SecureServerOptions = { requestCert: mtls, rejectUnauthorized: mtls };
    super(serverOptions, watcher.current);
    watcher.subscribe((options) => this.updateSecureContextOptions(options));
  }

  _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

/** Credentials for the OTLP/gRPC receiver: TLS (mTLS with a client CA) with the watcher's certificate. */
export function watchedServerCredentials(watcher: CertificateWatcher): ServerCredentials {
  return new WatchedServerCredentials(watcher);
}

// ------------------------------------------------------------------------ internal gRPC (cluster)

/**
 * Binds a grpc-js server on host:port behind node's own TLS listener (server.grpc_tls_config), so the
 * internal port takes Go's five client-auth modes as the API port does (grpc-js's own credentials know
 * only "require and verify" or nothing) and its certificate follows the watcher. Each connection that
 * passes is handed to grpc-js as an already-secured socket. Returns the bound port and the closer of
 * the listener (grpc-js's server is shut down by its owner).
 */
export async function listenGrpcOverTls(
  server: Server,
  host: string,
  port: number,
  watcher: CertificateWatcher,
  logger: WarnLogger,
): Promise<{ port: number; close(): void }> {
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const mode = watcher.settings.clientAuth;
  const listener = watcher.settings.listener;
  const tlsServer = createTlsServer({ ...watcher.current, ...clientCertOptions(mode), ALPNProtocols: ['h2'] }, (socket) => {
    const reason = refuseClient(mode, socket);
    if (reason !== null) {
      clientRefusals.inc({ listener, reason });
      socket.destroy();
      return;
    }
    injector.injectConnection(socket);
  });
  const unsubscribe = watcher.subscribe((options) => tlsServer.setSecureContext(options));
  // Plaintext clients, unknown CAs, missing client certificates under RequireAndVerifyClientCert.
  tlsServer.on('tlsClientError', (_err, socket) => {
    clientRefusals.inc({ listener, reason: 'handshake' });
    socket.destroy();
  });
  const bound = await new Promise<number>((resolve, reject) => {
    tlsServer.once('error', reject);
    tlsServer.listen(port, host, () => {
      tlsServer.off('error', reject);
      const addr = tlsServer.address();
      resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
    });
  });
  tlsServer.on('error', (err) => logger.error({ err, listener }, 'TLS listener error'));
  return {
    port: bound,
    close: () => {
      unsubscribe();
      tlsServer.close();
      injector.destroy();
    },
  };
}

/**
 * Channel credentials and options for dialling an internal gRPC port: TLS per the client block
 * (CA, client certificate for mTLS, server name, skip-verify), or plaintext when `tls` is null.
 */
export function grpcClientCredentials(tls: GrpcClientTls | null): { credentials: ChannelCredentials; options: ChannelOptions } {
  if (tls === null) return { credentials: credentials.createInsecure(), options: {} };
  const verify = tls.insecureSkipVerify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {};
  return {
    credentials: credentials.createSsl(tls.ca, tls.key, tls.cert, verify),
    options: tls.serverName !== '' ? { 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName } : {},
  };
}
