/**
 * grpc-js server credentials that follow a CertificateWatcher. grpc-js's ServerCredentials is built
 * for this: a server registers a watcher on its credentials and calls setSecureContext on its own
 * HTTP/2 server whenever the credentials push new options (updateSecureContextOptions, the hook its
 * own certificate-provider credentials use). The watcher only pushes options that already loaded,
 * since grpc-js drops every new connection while its last update failed.
 */
import type { SecureServerOptions } from 'node:http2';
import { ServerCredentials } from '@grpc/grpc-js';
import type { CertificateWatcher } from './certificate-watcher.js';

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
