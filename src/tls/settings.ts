/**
 * What a TLS listener serves, from the two config dialects rubato reads: Tempo's server block
 * (server.http_tls_config, Go's tls.ClientAuthType names, server.tls_min_version) and the
 * OpenTelemetry Collector's receiver block (distributor.receivers.otlp.protocols.*.tls, where a
 * client_ca_file means mTLS). Both become one shape, checked at config load so a half-set block
 * fails start-up with its key rather than serving plaintext.
 */
import { readFileSync } from 'node:fs';
import type { SecureVersion } from 'node:tls';
import { ConfigError } from '../config/errors.js';
import type { GrpcClientConfig, ReceiverTlsConfig, ServerTlsConfig } from '../config/schema.js';

/** Go's tls.ClientAuthType, which Tempo's server TLS block takes by name. */
export type ClientAuth = 'NoClientCert' | 'RequestClientCert' | 'RequireAnyClientCert' | 'VerifyClientCertIfGiven' | 'RequireAndVerifyClientCert';

export interface TlsListenerSettings {
  /** The listener, in logs and in the `listener` label of the TLS metrics: api, otlp-grpc, otlp-http, internal-grpc. */
  readonly listener: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** "" when client certificates are not verified. */
  readonly clientCaFile: string;
  readonly clientAuth: ClientAuth;
  readonly minVersion: SecureVersion;
  readonly maxVersion?: SecureVersion;
}

const GO_VERSIONS: Readonly<Record<string, SecureVersion>> = {
  VersionTLS10: 'TLSv1',
  VersionTLS11: 'TLSv1.1',
  VersionTLS12: 'TLSv1.2',
  VersionTLS13: 'TLSv1.3',
};

const COLLECTOR_VERSIONS: Readonly<Record<string, SecureVersion>> = {
  '1.0': 'TLSv1',
  // YAML reads an unquoted 1.0 as the number 1, which the config keeps as "1".
  '1': 'TLSv1',
  '1.1': 'TLSv1.1',
  '1.2': 'TLSv1.2',
  '1.3': 'TLSv1.3',
};

function requirePair(key: string, certFile: string, keyFile: string): void {
  if ((certFile === '') !== (keyFile === '')) {
    throw new ConfigError(`${key}: cert_file and key_file must be set together (TLS needs both)`, key);
  }
}

/** A Tempo server TLS block (dskit's: Go's client-auth names), or null when it serves plaintext. */
function serverTlsSettings(listener: string, key: string, c: ServerTlsConfig, tlsMinVersion: string): TlsListenerSettings | null {
  requirePair(key, c.cert_file, c.key_file);
  const clientAuth: ClientAuth = c.client_auth_type === '' ? 'NoClientCert' : c.client_auth_type;
  if (c.cert_file === '') {
    if (c.client_ca_file !== '' || clientAuth !== 'NoClientCert') {
      throw new ConfigError(`${key}: client_auth_type and client_ca_file need cert_file and key_file`, key);
    }
    return null;
  }
  // As Prometheus' exporter-toolkit, which Tempo's server uses: a CA without a policy is a mistake, not mTLS.
  if (c.client_ca_file !== '' && clientAuth === 'NoClientCert') {
    throw new ConfigError(`${key}: client_ca_file is set but client_auth_type is NoClientCert; set client_auth_type (e.g. RequireAndVerifyClientCert)`, key);
  }
  if ((clientAuth === 'VerifyClientCertIfGiven' || clientAuth === 'RequireAndVerifyClientCert') && c.client_ca_file === '') {
    throw new ConfigError(`${key}: client_auth_type ${clientAuth} needs client_ca_file to verify client certificates against`, key);
  }
  return {
    listener,
    certFile: c.cert_file,
    keyFile: c.key_file,
    clientCaFile: c.client_ca_file,
    clientAuth,
    minVersion: GO_VERSIONS[tlsMinVersion] ?? 'TLSv1.2',
  };
}

/** The API port's TLS (server.http_tls_config), or null when it serves plaintext. */
export function apiTlsSettings(server: { http_tls_config: ServerTlsConfig; tls_min_version: string }): TlsListenerSettings | null {
  return serverTlsSettings('api', 'server.http_tls_config', server.http_tls_config, server.tls_min_version);
}

/** The internal gRPC port's TLS (server.grpc_tls_config: ingesters, metrics generators), or null for plaintext. */
export function grpcTlsSettings(server: { grpc_tls_config: ServerTlsConfig; tls_min_version: string }): TlsListenerSettings | null {
  return serverTlsSettings('internal-grpc', 'server.grpc_tls_config', server.grpc_tls_config, server.tls_min_version);
}

/** How a distributed target dials an internal gRPC port over TLS (dskit's client keys), read from files at start. */
export interface GrpcClientTls {
  /** null: the system's CAs. */
  readonly ca: Buffer | null;
  /** The client certificate and key shown under mTLS, or null. */
  readonly cert: Buffer | null;
  readonly key: Buffer | null;
  /** "" = the host of the address dialled. */
  readonly serverName: string;
  readonly insecureSkipVerify: boolean;
}

/** dskit's client TLS keys, as gRPC client blocks and the ring's etcd block take them. */
export type ClientTlsConfig = Pick<
  GrpcClientConfig,
  'tls_enabled' | 'tls_cert_path' | 'tls_key_path' | 'tls_ca_path' | 'tls_server_name' | 'tls_insecure_skip_verify'
>;

/**
 * A client block's TLS (`<section>.grpc_client_config`), or null when tls_enabled is false (as in
 * Tempo, the other tls_* keys are then ignored). Unreadable files fail start-up with their key.
 */
export function grpcClientTlsSettings(section: string, c: GrpcClientConfig): GrpcClientTls | null {
  return clientTlsSettings(`${section}.grpc_client_config`, c);
}

/** The TLS of the client block at `key` (dotted path), or null when tls_enabled is false; files read now. */
export function clientTlsSettings(key: string, c: ClientTlsConfig): GrpcClientTls | null {
  if (!c.tls_enabled) return null;
  if ((c.tls_cert_path === '') !== (c.tls_key_path === '')) {
    throw new ConfigError(`${key}: tls_cert_path and tls_key_path must be set together (a client certificate needs both)`, key);
  }
  const read = (field: string, path: string): Buffer | null => {
    if (path === '') return null;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`${key}.${field}: cannot read ${path}: ${(err as Error).message}`, `${key}.${field}`);
    }
  };
  return {
    ca: read('tls_ca_path', c.tls_ca_path),
    cert: read('tls_cert_path', c.tls_cert_path),
    key: read('tls_key_path', c.tls_key_path),
    serverName: c.tls_server_name,
    insecureSkipVerify: c.tls_insecure_skip_verify,
  };
}

function collectorVersion(key: string, v: string): SecureVersion {
  const version = COLLECTOR_VERSIONS[v];
  if (version === undefined) throw new ConfigError(`${key}: expected one of "1.0", "1.1", "1.2", "1.3", got ${JSON.stringify(v)}`, key);
  return version;
}

/** An OTLP receiver's TLS (its Collector-style `tls:` block), or null when it is absent. */
export function receiverTlsSettings(listener: 'otlp-grpc' | 'otlp-http', c: ReceiverTlsConfig | undefined): TlsListenerSettings | null {
  if (c === undefined) return null;
  const key = `distributor.receivers.otlp.protocols.${listener === 'otlp-grpc' ? 'grpc' : 'http'}.tls`;
  requirePair(key, c.cert_file, c.key_file);
  if (c.cert_file === '') throw new ConfigError(`${key}: cert_file and key_file are required in a tls block`, key);
  const minVersion = collectorVersion(`${key}.min_version`, c.min_version);
  const maxVersion = c.max_version === '' ? undefined : collectorVersion(`${key}.max_version`, c.max_version);
  return {
    listener,
    certFile: c.cert_file,
    keyFile: c.key_file,
    clientCaFile: c.client_ca_file,
    // The Collector: a client CA means every client must show a certificate it signed.
    clientAuth: c.client_ca_file === '' ? 'NoClientCert' : 'RequireAndVerifyClientCert',
    minVersion,
    ...(maxVersion !== undefined ? { maxVersion } : {}),
  };
}
