/**
 * Ring membership kept in etcd (Tempo's `kvstore.store: etcd`). Each instance is one key,
 * `<prefix><ring>/<id>`, holding its RingInstance as JSON and bound to a lease whose TTL is the ring's
 * heartbeat_timeout: an instance killed without a goodbye disappears when its lease runs out, and one
 * that stops cleanly revokes its lease at once. Readers keep a local copy from a prefix watch (plus a
 * periodic full read, so a missed event heals), so routing never waits on etcd.
 */
import { rootCertificates } from 'node:tls';
import { Etcd3, EtcdLockFailedError, type Lease, type Watcher } from 'etcd3';
import type { Logger } from 'pino';
import type { GrpcClientTls } from '../tls/settings.js';
import { RingView, type InstanceState, type ReplicaRules, type RingInstance } from './ring.js';

export interface EtcdOptions {
  readonly endpoints: readonly string[];
  /** Tempo's kvstore.prefix, default "collectors/". */
  readonly prefix: string;
  readonly dialTimeoutMs: number;
  /** TLS to etcd (Tempo's kvstore.etcd.tls_* keys, files read); absent: plaintext. insecureSkipVerify is refused before this. */
  readonly tls?: GrpcClientTls;
  /** etcd's user and password auth. */
  readonly auth?: { readonly username: string; readonly password: string };
}

export function connectEtcd(opts: EtcdOptions): Etcd3 {
  const tls = opts.tls;
  const hosts = opts.endpoints.map((e) => (/^[a-z]+:\/\//.test(e) ? e : `${tls !== undefined ? 'https' : 'http'}://${e}`));
  return new Etcd3({
    hosts,
    dialTimeout: opts.dialTimeoutMs,
    ...(tls !== undefined
      ? {
          credentials: {
            rootCertificate: tls.ca ?? Buffer.from(rootCertificates.join('\n')),
            ...(tls.cert !== null && tls.key !== null ? { certChain: tls.cert, privateKey: tls.key } : {}),
          },
          ...(tls.serverName !== '' ? { grpcOptions: { 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName } } : {}),
        }
      : {}),
    ...(opts.auth !== undefined ? { auth: { username: opts.auth.username, password: opts.auth.password } } : {}),
  });
}

function parseInstance(value: Buffer | string | null | undefined): RingInstance | null {
  if (value === null || value === undefined) return null;
  try {
    const v = JSON.parse(value.toString()) as Partial<RingInstance>;
    if (typeof v.id !== 'string' || typeof v.addr !== 'string' || !Array.isArray(v.tokens)) return null;
    return v as RingInstance;
  } catch {
    return null;
  }
}

/** A watched ring: the current members, refreshed from etcd as they change. */
export class RingWatcher {
  private readonly members = new Map<string, RingInstance>();
  private cached: RingView | null = null;
  private watcher: Watcher | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly client: Etcd3,
    /** Full key prefix, e.g. "collectors/ingester/". */
    private readonly keyPrefix: string,
    private readonly logger: Logger,
    private readonly rules: ReplicaRules = {},
  ) {}

  async start(): Promise<void> {
    await this.reload();
    this.watcher = await this.client.watch().prefix(this.keyPrefix).create();
    this.watcher.on('put', (kv) => {
      const inst = parseInstance(kv.value);
      if (inst === null) return;
      this.members.set(inst.id, inst);
      this.cached = null;
    });
    this.watcher.on('delete', (kv) => {
      this.members.delete(kv.key.toString().slice(this.keyPrefix.length));
      this.cached = null;
    });
    this.watcher.on('error', (err) => this.logger.warn({ err: String(err) }, 'etcd ring watch failed; relying on periodic reads'));
    // A watch can miss events across an etcd reconnect: a full read now and then makes up for it.
    this.timer = setInterval(() => {
      this.reload().catch((err: unknown) => this.logger.warn({ err: String(err) }, 'reading the ring from etcd failed'));
    }, 5_000);
    this.timer.unref();
  }

  private async reload(): Promise<void> {
    const all = await this.client.getAll().prefix(this.keyPrefix).buffers();
    this.members.clear();
    for (const v of Object.values(all)) {
      const inst = parseInstance(v);
      if (inst !== null) this.members.set(inst.id, inst);
    }
    this.cached = null;
  }

  /** The ring now, with its tokens sorted. */
  view(): RingView {
    this.cached ??= new RingView(
      [...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : 1)),
      this.rules,
    );
    return this.cached;
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    await this.watcher?.cancel();
  }
}

/**
 * This instance's entry in a ring: registered JOINING, turned ACTIVE once it serves, heartbeated every
 * heartbeat_period (the timestamp readers check), removed on stop. If etcd loses the lease (etcd was
 * down longer than the TTL), a new one is taken and the entry written again.
 */
export class Lifecycler {
  private lease: Lease | null = null;
  private timer: NodeJS.Timeout | null = null;
  private state: InstanceState = 'JOINING';
  private stopped = false;

  constructor(
    private readonly client: Etcd3,
    private readonly keyPrefix: string,
    private readonly self: Omit<RingInstance, 'state' | 'heartbeatMs'>,
    private readonly heartbeatPeriodMs: number,
    private readonly heartbeatTimeoutMs: number,
    private readonly logger: Logger,
  ) {}

  private key(): string {
    return `${this.keyPrefix}${this.self.id}`;
  }

  private value(): string {
    const inst: RingInstance = { ...this.self, state: this.state, heartbeatMs: Date.now() };
    return JSON.stringify(inst);
  }

  private newLease(): Lease {
    // etcd counts TTLs in whole seconds; a lease shorter than two heartbeats would flap.
    const ttl = Math.max(2, Math.ceil(this.heartbeatTimeoutMs / 1000), Math.ceil((2 * this.heartbeatPeriodMs) / 1000));
    const lease = this.client.lease(ttl, { autoKeepAlive: true });
    lease.on('lost', (err) => {
      if (this.stopped) return;
      this.logger.warn({ err: String(err) }, 'etcd lease lost; registering again');
      this.lease = this.newLease();
      this.write().catch((e: unknown) => this.logger.warn({ err: String(e) }, 'registering in the ring failed'));
    });
    return lease;
  }

  private async write(): Promise<void> {
    if (this.stopped || this.lease === null) return;
    await this.lease.put(this.key()).value(this.value());
  }

  /** Registers as JOINING and starts heartbeating. */
  async start(): Promise<void> {
    this.lease = this.newLease();
    await this.write();
    this.timer = setInterval(() => {
      this.write().catch((err: unknown) => this.logger.warn({ err: String(err) }, 'ring heartbeat failed'));
    }, this.heartbeatPeriodMs);
    this.timer.unref();
  }

  async setState(state: InstanceState): Promise<void> {
    this.state = state;
    await this.write();
    this.logger.info({ id: this.self.id, state }, 'ring state changed');
  }

  /** Leaves the ring: the key goes with the lease. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.stopped = true;
    try {
      await this.lease?.revoke();
    } catch (err) {
      this.logger.warn({ err: String(err) }, 'revoking the ring lease failed; the entry expires with its TTL');
    }
  }
}

/**
 * Runs `fn` only while holding an etcd lock named `name` (with a TTL, so a dead holder frees it): one
 * compactor at a time works on the blocks. Returns null without running when another holds it.
 */
export async function withEtcdLock<T>(client: Etcd3, name: string, ttlSeconds: number, fn: () => Promise<T>): Promise<T | null> {
  const lock = client.lock(name).ttl(ttlSeconds);
  try {
    await lock.acquire();
  } catch (err) {
    // Held by another: its pass counts for this one. Anything else (etcd down) is a failed pass.
    if (err instanceof EtcdLockFailedError) return null;
    throw err;
  }
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
