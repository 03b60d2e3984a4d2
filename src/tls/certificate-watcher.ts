/**
 * Keeps a TLS listener's certificate current without a restart. cert-manager (and kubelet's secret
 * volumes) rotate certificates by writing new files or swapping a `..data` symlink in the mounted
 * folder, so the folders are watched (fs.watch), with a periodic re-read as the fallback for file
 * systems where watching misses changes. A new set of files is used only once it loads as a whole
 * (certificate, key that matches it, CA): a half-written rotation or a bad file keeps the previous
 * certificate, is logged once and counted, and is retried on the next change.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { InfoLogger } from '../model/logger.js';
import { certificateNotAfter, certificateReloads } from './metrics.js';
import type { TlsListenerSettings } from './settings.js';

export interface CertificateWatcherOptions {
  /** How often the files are re-read whatever the watcher reports. Default 10 s. */
  readonly pollMs?: number;
  /** Quiet time after a change before reading, so a rotation's several writes are read once. Default 250 ms. */
  readonly settleMs?: number;
}

interface Loaded {
  readonly options: SecureContextOptions;
  readonly fingerprint: string;
  readonly notAfter: Date;
}

/** Reads and checks the listener's files; throws with a message naming the file at fault. */
function load(s: TlsListenerSettings, files: { cert: Buffer; key: Buffer; ca: Buffer | null }): Loaded {
  const options: SecureContextOptions = {
    cert: files.cert,
    key: files.key,
    ...(files.ca !== null ? { ca: files.ca } : {}),
    minVersion: s.minVersion,
    ...(s.maxVersion !== undefined ? { maxVersion: s.maxVersion } : {}),
  };
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(files.cert);
  } catch (err) {
    throw new Error(`${s.certFile}: not a PEM certificate (${(err as Error).message})`);
  }
  try {
    // Parses the key and checks that it belongs to the certificate, as the listener will.
    createSecureContext(options);
  } catch (err) {
    throw new Error(`${s.certFile} / ${s.keyFile}${files.ca !== null ? ` / ${s.clientCaFile}` : ''}: ${(err as Error).message}`);
  }
  return { options, fingerprint: leaf.fingerprint256, notAfter: new Date(leaf.validTo) };
}

function readFiles(s: TlsListenerSettings): { cert: Buffer; key: Buffer; ca: Buffer | null } {
  return {
    cert: readFileSync(s.certFile),
    key: readFileSync(s.keyFile),
    ca: s.clientCaFile !== '' ? readFileSync(s.clientCaFile) : null,
  };
}

function digest(files: { cert: Buffer; key: Buffer; ca: Buffer | null }): string {
  const h = createHash('sha256').update(files.cert).update('\0').update(files.key).update('\0');
  if (files.ca !== null) h.update(files.ca);
  return h.digest('hex');
}

export class CertificateWatcher {
  private loaded: Loaded;
  /** Digest of the files last tried, good or bad: unchanged files are neither re-checked nor re-logged. */
  private lastSeen: string;
  private readonly listeners = new Set<(options: SecureContextOptions) => void>();
  private readonly watchers: FSWatcher[] = [];
  private readonly poll: NodeJS.Timeout;
  private settle: NodeJS.Timeout | undefined;
  private closed = false;

  /** Loads the files now (throwing, with the file named, when they are unusable) and starts watching them. */
  constructor(
    readonly settings: TlsListenerSettings,
    private readonly logger: InfoLogger,
    opts: CertificateWatcherOptions = {},
  ) {
    let files: ReturnType<typeof readFiles>;
    try {
      files = readFiles(settings);
      this.loaded = load(settings, files);
    } catch (err) {
      throw new Error(`TLS for ${settings.listener}: cannot load the certificate: ${(err as Error).message}`);
    }
    this.lastSeen = digest(files);
    this.record('initial');
    const settleMs = opts.settleMs ?? 250;
    const folders = new Set([settings.certFile, settings.keyFile, settings.clientCaFile].filter((f) => f !== '').map((f) => dirname(f)));
    for (const folder of folders) {
      try {
        const w = watch(folder, { persistent: false }, () => this.changed(settleMs));
        w.on('error', (err) =>
          logger.warn({ err, folder, listener: settings.listener }, 'TLS certificate folder watch failed; relying on the periodic re-read'),
        );
        this.watchers.push(w);
      } catch (err) {
        logger.warn({ err, folder, listener: settings.listener }, 'cannot watch the TLS certificate folder; relying on the periodic re-read');
      }
    }
    this.poll = setInterval(() => this.check(), opts.pollMs ?? 10_000);
    this.poll.unref();
  }

  /** The secure-context options (certificate, key, CA, versions) currently served. */
  get current(): SecureContextOptions {
    return this.loaded.options;
  }

  /** Calls `fn` with the new options after each successful reload; returns the unsubscribe function. */
  subscribe(fn: (options: SecureContextOptions) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Re-reads the files now; true when a new certificate was taken. Also what the watchers and the poll call. */
  check(): boolean {
    if (this.closed) return false;
    let files: ReturnType<typeof readFiles>;
    try {
      files = readFiles(this.settings);
    } catch (err) {
      // A rotation can briefly remove a file; the next change or poll tries again.
      const seen = `unreadable:${(err as Error).message}`;
      if (seen !== this.lastSeen) this.fail(err);
      this.lastSeen = seen;
      return false;
    }
    const seen = digest(files);
    if (seen === this.lastSeen) return false;
    this.lastSeen = seen;
    let next: Loaded;
    try {
      next = load(this.settings, files);
    } catch (err) {
      this.fail(err);
      return false;
    }
    this.loaded = next;
    this.record('success');
    this.logger.info({ listener: this.settings.listener, fingerprint: next.fingerprint, notAfter: next.notAfter.toISOString() }, 'TLS certificate reloaded');
    for (const fn of this.listeners) fn(next.options);
    return true;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.poll);
    if (this.settle !== undefined) clearTimeout(this.settle);
    for (const w of this.watchers) w.close();
    this.listeners.clear();
  }

  private changed(settleMs: number): void {
    if (this.settle !== undefined) clearTimeout(this.settle);
    this.settle = setTimeout(() => {
      this.settle = undefined;
      this.check();
    }, settleMs);
    this.settle.unref();
  }

  private fail(err: unknown): void {
    certificateReloads.inc({ listener: this.settings.listener, result: 'failure' });
    this.logger.error(
      { err, listener: this.settings.listener, fingerprint: this.loaded.fingerprint },
      'TLS certificate files changed but cannot be used; still serving the previous certificate',
    );
  }

  private record(result: 'initial' | 'success'): void {
    if (result === 'success') certificateReloads.inc({ listener: this.settings.listener, result });
    certificateNotAfter.set({ listener: this.settings.listener }, this.loaded.notAfter.getTime() / 1000);
  }
}

/** The watchers of one process's TLS listeners, closed together when it stops. */
export class CertificateWatchers {
  private readonly all: CertificateWatcher[] = [];

  constructor(private readonly logger: InfoLogger) {}

  /** A watcher for the listener (spread into its options), or nothing when it serves plaintext. */
  for(settings: TlsListenerSettings | null): { tls?: CertificateWatcher } {
    if (settings === null) return {};
    const watcher = new CertificateWatcher(settings, this.logger);
    this.all.push(watcher);
    return { tls: watcher };
  }

  close(): void {
    for (const w of this.all) w.close();
    this.all.length = 0;
  }
}
