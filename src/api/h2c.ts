/**
 * One port for HTTP/1.1 and gRPC (Tempo's `stream_over_http_enabled`: Grafana's streaming queries
 * reach the HTTP API port as cleartext HTTP/2). Each new connection's first bytes are read: the HTTP/2
 * client preface sends it to gRPC, anything else to the HTTP server as if nothing had happened. Over
 * TLS the choice is ALPN's (`h2` → gRPC) and is made where the TLS listener is set up, with the same
 * `toGrpc` seam.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** What every HTTP/2 connection starts with (RFC 9113, 3.4). */
export const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export type ConnectionHandler = (socket: Socket) => void;

/**
 * Waits for enough of a connection's first bytes to tell HTTP/2 from anything else, puts them back
 * and hands the socket on. A connection that sends nothing within `timeoutMs` (0: no bound) is closed,
 * as the HTTP server would close it.
 */
export function splitByPreface(socket: Socket, toGrpc: ConnectionHandler, toHttp: ConnectionHandler, timeoutMs: number): void {
  let seen: Buffer = Buffer.alloc(0);
  const stop = (): void => {
    socket.off('data', onData);
    socket.off('error', onGone);
    socket.off('end', onGone);
    socket.off('timeout', onGone);
    socket.setTimeout(0);
  };
  const onGone = (): void => {
    stop();
    socket.destroy();
  };
  const onData = (chunk: Buffer): void => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, HTTP2_PREFACE.length);
    const http2 = seen.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n));
    if (http2 && seen.length < HTTP2_PREFACE.length) return;
    stop();
    socket.pause();
    socket.unshift(seen);
    if (http2) {
      toGrpc(socket);
    } else {
      toHttp(socket);
      // The HTTP server adds its 'data' listener to a paused socket, which does not restart it.
      socket.resume();
    }
  };
  socket.on('data', onData);
  socket.on('error', onGone);
  socket.on('end', onGone);
  if (timeoutMs > 0) {
    socket.setTimeout(timeoutMs);
    socket.on('timeout', onGone);
  }
}

/**
 * Makes a plain (non-TLS) node HTTP server share its listening port with gRPC: the server's own
 * connection handling (node's HTTP parser, and whatever was added before, such as TCP keepalive) runs
 * for HTTP/1 connections only; its connection cap still counts both.
 */
export function shareWithGrpc(server: Server, toGrpc: ConnectionHandler, timeoutMs: number): void {
  const httpHandlers = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    splitByPreface(
      socket,
      toGrpc,
      (s) => {
        for (const h of httpHandlers) h.call(server, s);
      },
      timeoutMs,
    );
  });
}
