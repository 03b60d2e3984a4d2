/**
 * Test certificates made with the openssl CLI (node has no X.509 issuer): a CA, server certificates
 * for 127.0.0.1/localhost and client certificates it signs, plus the Kubernetes secret-volume layout
 * (files that are symlinks through a `..data` link) that cert-manager rotations swap.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pem {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** SHA-256 fingerprint as node prints it (AA:BB:…). */
  readonly fingerprint: string;
}

export interface TestCa extends Pem {
  readonly certFile: string;
  readonly keyFile: string;
  /** A new key and certificate signed by this CA. */
  issue(name: string, usage: 'server' | 'client'): Pem;
}

function openssl(cwd: string, args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function pem(dir: string, name: string): Pem {
  const cert = readFileSync(join(dir, `${name}.crt`));
  return { cert, key: readFileSync(join(dir, `${name}.key`)), fingerprint: new X509Certificate(cert).fingerprint256 };
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A fresh CA in `dir` (made if missing). */
export function makeCa(dir: string, name = 'rubato-test-ca'): TestCa {
  mkdirSync(dir, { recursive: true });
  openssl(dir, ['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`]);
  const ca = pem(dir, name);
  return {
    ...ca,
    certFile: join(dir, `${name}.crt`),
    keyFile: join(dir, `${name}.key`),
    issue(leaf: string, usage: 'server' | 'client'): Pem {
      const ext = join(dir, `${leaf}.ext`);
      writeFileSync(ext, usage === 'server' ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' : 'extendedKeyUsage=clientAuth\n');
      openssl(dir, ['req', ...EC, '-keyout', `${leaf}.key`, '-out', `${leaf}.csr`, '-subj', `/CN=${leaf}`]);
      openssl(dir, [
        'x509',
        '-req',
        '-in',
        `${leaf}.csr`,
        '-CA',
        `${name}.crt`,
        '-CAkey',
        `${name}.key`,
        '-CAcreateserial',
        '-out',
        `${leaf}.crt`,
        '-days',
        '2',
        '-extfile',
        ext,
      ]);
      return pem(dir, leaf);
    },
  };
}

/**
 * A certificate folder laid out as a Kubernetes secret volume: `tls.crt` and `tls.key` are symlinks
 * into `..data`, itself a symlink to a timestamped folder. `rotate` writes the new pair into a new
 * folder and swaps `..data` atomically, as kubelet does when cert-manager renews the secret.
 */
export interface SecretVolume {
  readonly certFile: string;
  readonly keyFile: string;
  rotate(pair: { cert: Buffer; key: Buffer }): void;
}

export function secretVolume(dir: string, pair: { cert: Buffer; key: Buffer }): SecretVolume {
  mkdirSync(dir, { recursive: true });
  let generation = 0;
  const writeGeneration = (p: { cert: Buffer; key: Buffer }): string => {
    const name = `..gen_${++generation}`;
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'tls.crt'), p.cert);
    writeFileSync(join(dir, name, 'tls.key'), p.key);
    return name;
  };
  symlinkSync(writeGeneration(pair), join(dir, '..data'));
  symlinkSync(join('..data', 'tls.crt'), join(dir, 'tls.crt'));
  symlinkSync(join('..data', 'tls.key'), join(dir, 'tls.key'));
  return {
    certFile: join(dir, 'tls.crt'),
    keyFile: join(dir, 'tls.key'),
    rotate(p) {
      const name = writeGeneration(p);
      symlinkSync(name, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    },
  };
}
