/**
 * The outgoing side of remote write, one queue per configured URL. It holds compressed requests in
 * memory under a byte budget: when the remote end is slow or down, the oldest requests are dropped and
 * counted (a warning at most once a minute) so nothing grows. One request is in flight at a time;
 * failures that may pass (network errors, 5xx, 429) are retried with exponential backoff, others
 * (4xx) are dropped and counted.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
import type { RemoteWriteConfig } from '../config/schema.js';
import type { EncodedWrite } from './remote-write.js';
import { generatorMetrics } from './self-metrics.js';

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;
const WARN_EVERY_MS = 60_000;

interface Entry {
  readonly tenant: string;
  readonly write: EncodedWrite;
}

export interface RemoteQueueOptions {
  readonly config: RemoteWriteConfig;
  readonly maxBytes: number;
  readonly addOrgIdHeader: boolean;
  readonly logger: Logger;
}

export class RemoteWriteQueue {
  private readonly entries: Entry[] = [];
  private head = 0;
  private bytes = 0;
  private inFlight = false;
  private backoffMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private lastWarnMs = 0;
  private droppedSinceWarn = 0;
  private readonly url: URL;
  private readonly staticHeaders: Record<string, string>;
  private readonly tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string; rejectUnauthorized: boolean };
  /** Labels of this queue's self metrics (the URL without credentials). */
  private readonly label: string;

  constructor(private readonly opts: RemoteQueueOptions) {
    const c = opts.config;
    this.url = new URL(c.url);
    this.label = `${this.url.protocol}//${this.url.host}${this.url.pathname}`;
    this.staticHeaders = {
      'Content-Encoding': 'snappy',
      'Content-Type': 'application/x-protobuf',
      'User-Agent': 'rubato-metrics-generator',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
      ...c.headers,
    };
    if (c.basic_auth !== undefined) {
      const pw = c.basic_auth.password_file !== '' ? readFileSync(c.basic_auth.password_file, 'utf8').trim() : c.basic_auth.password;
      this.staticHeaders['Authorization'] = `Basic ${Buffer.from(`${c.basic_auth.username}:${pw}`).toString('base64')}`;
    }
    const t = c.tls_config;
    this.tls = { rejectUnauthorized: !(t?.insecure_skip_verify ?? false) };
    if (t !== undefined) {
      if (t.ca_file !== '') this.tls.ca = readFileSync(t.ca_file);
      if (t.cert_file !== '') this.tls.cert = readFileSync(t.cert_file);
      if (t.key_file !== '') this.tls.key = readFileSync(t.key_file);
      if (t.server_name !== '') this.tls.servername = t.server_name;
    }
    generatorMetrics.queueMaxBytes.set({ url: this.label }, opts.maxBytes);
  }

  /** Bytes held (queued and in flight). */
  get queuedBytes(): number {
    return this.bytes;
  }

  enqueue(tenant: string, write: EncodedWrite): void {
    if (this.stopped) return;
    this.entries.push({ tenant, write });
    this.bytes += write.body.length;
    while (this.bytes > this.opts.maxBytes && this.head < this.entries.length) {
      // The oldest entry goes, unless it is the one on the wire (it leaves when its send ends).
      const i = this.inFlight ? this.head + 1 : this.head;
      if (i >= this.entries.length) break;
      const [old] = this.entries.splice(i, 1);
      this.bytes -= old!.write.body.length;
      this.countDropped(old!, 'queue_full');
    }
    this.compact();
    generatorMetrics.queueBytes.set({ url: this.label }, this.bytes);
    this.pump();
  }

  private countDropped(e: Entry, reason: string): void {
    generatorMetrics.samplesDropped.inc({ url: this.label, reason }, e.write.samples);
    if (e.write.exemplars > 0) generatorMetrics.exemplarsDropped.inc({ url: this.label, reason }, e.write.exemplars);
    this.droppedSinceWarn += e.write.samples;
    const now = Date.now();
    if (now - this.lastWarnMs >= WARN_EVERY_MS) {
      this.lastWarnMs = now;
      this.opts.logger.warn(
        { url: this.label, reason, droppedSamples: this.droppedSinceWarn, queuedBytes: this.bytes, maxBytes: this.opts.maxBytes },
        'metrics generator: remote write is not keeping up; dropping the oldest samples',
      );
      this.droppedSinceWarn = 0;
    }
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
  }

  private pump(): void {
    if (this.inFlight || this.timer !== null || this.stopped || this.head >= this.entries.length) return;
    const e = this.entries[this.head]!;
    this.inFlight = true;
    this.send(e).then(
      (outcome) => this.done(e, outcome),
      (err: unknown) => {
        this.opts.logger.error({ err, url: this.label }, 'metrics generator: remote write failed unexpectedly');
        this.done(e, 'drop');
      },
    );
  }

  private done(e: Entry, outcome: 'ok' | 'retry' | 'drop'): void {
    this.inFlight = false;
    if (outcome === 'retry' && !this.stopped) {
      generatorMetrics.requestsFailed.inc({ url: this.label });
      this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs === 0 ? MIN_BACKOFF_MS : this.backoffMs * 2);
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump();
      }, this.backoffMs);
      this.timer.unref();
      return;
    }
    // Remove it unless queue_full already took it out meanwhile (it never takes the in-flight head).
    if (this.entries[this.head] === e) {
      this.head++;
      this.bytes -= e.write.body.length;
    }
    if (outcome === 'ok') {
      this.backoffMs = 0;
      generatorMetrics.samplesSent.inc({ url: this.label }, e.write.samples);
      if (e.write.exemplars > 0) generatorMetrics.exemplarsSent.inc({ url: this.label }, e.write.exemplars);
    } else {
      generatorMetrics.requestsFailed.inc({ url: this.label });
      this.countDropped(e, 'rejected');
    }
    this.compact();
    generatorMetrics.queueBytes.set({ url: this.label }, this.bytes);
    this.pump();
  }

  private send(e: Entry): Promise<'ok' | 'retry' | 'drop'> {
    const headers: Record<string, string | number> = { ...this.staticHeaders, 'Content-Length': e.write.body.length };
    if (this.opts.addOrgIdHeader) headers['X-Scope-OrgID'] = e.tenant;
    const isHttps = this.url.protocol === 'https:';
    return new Promise((resolve) => {
      const onResponse = (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          if (text.length < 512) text += d;
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve('ok');
          if (status === 429 || status >= 500) {
            this.opts.logger.debug({ url: this.label, status, body: text }, 'metrics generator: remote write will be retried');
            return resolve('retry');
          }
          this.opts.logger.warn({ url: this.label, status, body: text.slice(0, 512) }, 'metrics generator: remote write refused; samples dropped');
          resolve('drop');
        });
        res.on('error', () => resolve('retry'));
      };
      const options = { method: 'POST', headers, timeout: this.opts.config.remote_timeout };
      const req = isHttps ? httpsRequest(this.url, { ...options, ...this.tls }, onResponse) : httpRequest(this.url, options, onResponse);
      req.on('timeout', () => req.destroy(new Error('remote write timed out')));
      req.on('error', (err) => {
        this.opts.logger.debug({ err, url: this.label }, 'metrics generator: remote write will be retried');
        resolve('retry');
      });
      req.end(e.write.body);
    });
  }

  /** Stops sending; what is queued is dropped (the generator's series are rebuilt from new spans). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
