import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { ConfigError } from '../config/errors.js';
import { grpcClientTlsSettings, grpcTlsSettings } from './settings.js';

function load(yaml: string): ReturnType<typeof loadConfig> {
  const dir = mkdtempSync(join(tmpdir(), 'rubato-tls-config-'));
  try {
    const file = join(dir, 't.yaml');
    writeFileSync(file, yaml);
    return loadConfig([`-config.file=${file}`], {});
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const refused = (yaml: string, message: RegExp): void => {
  assert.throws(
    () => load(yaml),
    (err: unknown) => err instanceof ConfigError && message.test(err.message),
  );
};

describe('TLS settings from the config', () => {
  it('takes Tempo server keys and the Collector receiver keys without a warning', () => {
    const { warnings, config } = load(
      [
        'server:',
        '  tls_min_version: VersionTLS13',
        '  http_tls_config:',
        '    cert_file: /c.pem',
        '    key_file: /k.pem',
        '    client_auth_type: VerifyClientCertIfGiven',
        '    client_ca_file: /ca.pem',
        'distributor:',
        '  receivers:',
        '    otlp:',
        '      protocols:',
        '        grpc:',
        '          tls: { cert_file: /c.pem, key_file: /k.pem, client_ca_file: /ca.pem, min_version: "1.3" }',
        '        http:',
        '          tls: { cert_file: /c.pem, key_file: /k.pem }',
      ].join('\n'),
    );
    assert.deepEqual(warnings, []);
    assert.equal(config.server.http_tls_config.client_auth_type, 'VerifyClientCertIfGiven');
    assert.equal(config.distributor.receivers.otlp.protocols.grpc?.tls?.min_version, '1.3');
  });

  it('refuses half-set or contradictory blocks, naming the key', () => {
    refused('server:\n  http_tls_config:\n    cert_file: /c.pem\n', /server\.http_tls_config: cert_file and key_file must be set together/);
    refused(
      'server:\n  http_tls_config:\n    cert_file: /c.pem\n    key_file: /k.pem\n    client_ca_file: /ca.pem\n',
      /client_ca_file is set but client_auth_type is NoClientCert/,
    );
    refused(
      'server:\n  http_tls_config:\n    cert_file: /c.pem\n    key_file: /k.pem\n    client_auth_type: RequireAndVerifyClientCert\n',
      /needs client_ca_file/,
    );
    refused('server:\n  http_tls_config:\n    client_auth_type: RequireAnyClientCert\n', /need cert_file and key_file/);
    refused('server:\n  http_tls_config:\n    cert_file: /c\n    key_file: /k\n    client_auth_type: Sometimes\n', /client_auth_type/);
    refused(
      'distributor:\n  receivers:\n    otlp:\n      protocols:\n        grpc:\n          tls: { cert_file: /c.pem, key_file: /k.pem, min_version: "1.4" }\n',
      /protocols\.grpc\.tls\.min_version: expected one of/,
    );
    refused(
      'distributor:\n  receivers:\n    otlp:\n      protocols:\n        http:\n          tls: { client_ca_file: /ca.pem }\n',
      /protocols\.http\.tls: cert_file and key_file are required/,
    );
  });

  it('takes the internal gRPC keys (server.grpc_tls_config, ingester_client.grpc_client_config) and checks them', () => {
    const { warnings, config } = load(
      [
        'target: ingester',
        'server:',
        '  grpc_tls_config:',
        '    cert_file: /c.pem',
        '    key_file: /k.pem',
        '    client_auth_type: RequireAndVerifyClientCert',
        '    client_ca_file: /ca.pem',
        'ingester_client:',
        '  grpc_client_config:',
        '    tls_enabled: true',
        '    tls_ca_path: /ca.pem',
        '    tls_server_name: ingester.local',
        'metrics_generator_client:',
        '  grpc_client_config:',
        '    tls_enabled: true',
      ].join('\n'),
    );
    assert.deepEqual(warnings, []);
    assert.deepEqual(grpcTlsSettings(config.server), {
      listener: 'internal-grpc',
      certFile: '/c.pem',
      keyFile: '/k.pem',
      clientCaFile: '/ca.pem',
      clientAuth: 'RequireAndVerifyClientCert',
      minVersion: 'TLSv1.2',
    });
    assert.equal(config.ingester_client.grpc_client_config.tls_server_name, 'ingester.local');
    refused('server:\n  grpc_tls_config:\n    key_file: /k.pem\n', /server\.grpc_tls_config: cert_file and key_file must be set together/);
    // The single process has no internal gRPC port: said, not silently ignored.
    assert.match(load('server:\n  grpc_tls_config: { cert_file: /c, key_file: /k }\n').warnings.join('\n'), /-target=all does not listen there/);
  });

  it('reads the client files only when tls_enabled, and names an unreadable one', () => {
    const block = {
      tls_enabled: false,
      tls_cert_path: '/nope.pem',
      tls_key_path: '/nope.key',
      tls_ca_path: '',
      tls_server_name: '',
      tls_insecure_skip_verify: false,
    };
    // As Tempo: the other tls_* keys are ignored while TLS is off.
    assert.equal(grpcClientTlsSettings('ingester_client', block), null);
    assert.throws(
      () => grpcClientTlsSettings('ingester_client', { ...block, tls_enabled: true }),
      (err: unknown) => err instanceof ConfigError && /ingester_client\.grpc_client_config\.tls_cert_path: cannot read \/nope\.pem/.test(err.message),
    );
    assert.throws(
      () => grpcClientTlsSettings('ingester_client', { ...block, tls_enabled: true, tls_key_path: '' }),
      (err: unknown) => err instanceof ConfigError && /must be set together/.test(err.message),
    );
    assert.deepEqual(
      grpcClientTlsSettings('ingester_client', { ...block, tls_enabled: true, tls_cert_path: '', tls_key_path: '', tls_insecure_skip_verify: true }),
      {
        ca: null,
        cert: null,
        key: null,
        serverName: '',
        insecureSkipVerify: true,
      },
    );
  });
});
