/**
 * Listener hygiene shared by every HTTP listener (API 3100, OTLP/HTTP 4318) and the OTLP/gRPC socket
 * server: Tempo's server timeouts, a connection cap and TCP keepalive. Without them idle or half-open
 * connections pile up until the process runs out of file descriptors and the WAL cannot open files.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Server as NetServer, Socket } from 'node:net';

export interface HttpListenerLimits {
  /** Tempo's http_server_read_timeout: the whole request (headers and body) must arrive within it. 0 = none. */
  readonly readTimeoutMs: number;
  /** Tempo's http_server_write_timeout: from the request's headers to the end of the answer. 0 = none. */
  readonly writeTimeoutMs: number;
  /** Tempo's http_server_idle_timeout: a connection with no traffic for this long is closed. 0 = none. */
  readonly idleTimeoutMs: number;
  /** Most open connections; more are closed as they arrive. 0 = no cap. */
  readonly maxConnections: number;
}

/** Tempo's server defaults (30s, 30s, 2m), no connection cap. */
export const DEFAULT_HTTP_LISTENER: HttpListenerLimits = {
  readTimeoutMs: 30_000,
  writeTimeoutMs: 30_000,
  idleTimeoutMs: 120_000,
  maxConnections: 0,
};

/**
 * Delay before the kernel starts probing a silent connection: a peer that vanished (half-open
 * connection) is found and the socket closed instead of being held forever.
 */
export const TCP_KEEPALIVE_DELAY_MS = 60_000;

/** Fastify's names for node's timeouts. */
export function fastifyTimeouts(l: HttpListenerLimits): { connectionTimeout: number; keepAliveTimeout: number; requestTimeout: number } {
  return {
    // Socket inactivity: covers connections that never send a request, and stalled uploads.
    connectionTimeout: l.idleTimeoutMs,
    // Between requests on a kept-alive connection (node's default would be 72 s whatever the config).
    keepAliveTimeout: l.idleTimeoutMs > 0 ? l.idleTimeoutMs : 72_000,
    requestTimeout: l.readTimeoutMs,
  };
}

/** TCP keepalive and the connection cap, for any socket server. */
export function limitConnections(server: NetServer, maxConnections: number): void {
  if (maxConnections > 0) server.maxConnections = maxConnections;
  server.on('connection', (socket: Socket) => socket.setKeepAlive(true, TCP_KEEPALIVE_DELAY_MS));
}

/** Connection cap, TCP keepalive and the write timeout on a node HTTP server (timeouts: fastifyTimeouts). */
export function applyListenerLimits(server: Server, l: HttpListenerLimits): void {
  limitConnections(server, l.maxConnections);
  if (l.writeTimeoutMs <= 0) return;
  server.on('request', (req, res) => {
    // As Go's WriteTimeout: an answer not finished in time ends the connection rather than holding it.
    const timer = setTimeout(() => req.socket.destroy(), l.writeTimeoutMs);
    timer.unref();
    res.once('close', () => clearTimeout(timer));
  });
}

/**
 * The connection cap a listener gets when the config sets none (0): a quarter of the process's
 * open-file limit, so the three listeners together can never take the descriptors the WAL and blocks
 * need. 256 when the limit cannot be read.
 */
export function automaticConnectionLimit(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m !== null) return Math.max(16, Math.floor(Number(m[1]) / 4));
  } catch {
    // not Linux: fall through
  }
  return 256;
}
