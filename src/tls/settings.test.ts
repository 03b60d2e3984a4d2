import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { ConfigError } from '../config/errors.js';

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
});
