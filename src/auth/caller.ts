/**
 * The token the request being served presented, for the rest of that request's work. A query
 * frontend sends a caller's query to queriers as jobs; the queriers check the same token (their gate
 * covers every route), so each job carries the caller's token, never a credential of the frontend's
 * own that would reach every tenant. Set by the API gate (HTTP) and the streaming gRPC service.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const presented = new AsyncLocalStorage<string | undefined>();

/** Runs `fn` (and everything it starts) as the caller who presented `token`. */
export function asCaller<T>(token: string | undefined, fn: () => T): T {
  return presented.run(token, fn);
}

/** The token of the request whose work is running now; undefined outside one, or when none was presented. */
export function callerToken(): string | undefined {
  return presented.getStore();
}
