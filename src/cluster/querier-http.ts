/**
 * How a query frontend reaches a querier's HTTP port. Plain HTTP, or HTTPS when the cluster's config
 * sets server.http_tls_config (queriers then listen with TLS), verified against the CA of
 * querier.frontend_worker.grpc_client_config — Tempo's keys for the frontend–querier link — with its
 * client certificate when the queriers ask for one. Every request carries the caller's token, if the
 * caller presented one (auth/caller.ts), so a querier checks the same rights the frontend did.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { callerToken } from '../auth/caller.js';
import type { GrpcClientTls } from '../tls/settings.js';

export interface QuerierAnswer {
  readonly status: number;
  readonly body: Buffer;
}

export interface QuerierHttp {
  send(httpAddr: string, path: string, init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal }): Promise<QuerierAnswer>;
}

/** `tls`: null for plain HTTP. */
export function querierHttp(tls: GrpcClientTls | null): QuerierHttp {
  return {
    send(httpAddr, path, init) {
      const [host, port] = splitHostPort(httpAddr);
      const token = callerToken();
      const headers: Record<string, string> = { ...init.headers, ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) };
      if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
      const options = { host, port, path, method: init.method, headers, signal: init.signal };
      return new Promise<QuerierAnswer>((resolve, reject) => {
        const onResponse = (res: IncomingMessage): void => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        };
        const req =
          tls === null
            ? httpRequest(options, onResponse)
            : httpsRequest(
                {
                  ...options,
                  ...(tls.ca !== null ? { ca: tls.ca } : {}),
                  ...(tls.cert !== null && tls.key !== null ? { cert: tls.cert, key: tls.key } : {}),
                  ...(tls.serverName !== '' ? { servername: tls.serverName } : {}),
                  rejectUnauthorized: !tls.insecureSkipVerify,
                },
                onResponse,
              );
        req.on('error', reject);
        req.end(init.body);
      });
    },
  };
}

function splitHostPort(addr: string): [string, number] {
  const at = addr.lastIndexOf(':');
  const host = addr.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  return [host, Number(addr.slice(at + 1))];
}
