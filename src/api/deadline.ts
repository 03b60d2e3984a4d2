import type { FastifyReply } from 'fastify';

/**
 * Every query runs under a deadline (Tempo's `querier.search.query_timeout`,
 * `querier.trace_by_id.query_timeout`) and stops when the client goes away: the signal made here is
 * passed down to the blocks, which stop their scans and interrupt DuckDB when it fires.
 */

/** Thrown (as the signal's reason) when a query's deadline passes; answered 504. */
export class QueryTimeout extends Error {
  constructor(
    readonly timeoutMs: number,
    readonly setting: string,
  ) {
    super(`query timed out after ${timeoutMs / 1000}s (${setting}); narrow the time range or the query`);
    this.name = 'QueryTimeout';
  }
}

/** Thrown (as the signal's reason) when the client closed the connection before the answer. */
export class ClientGone extends Error {
  constructor() {
    super('client closed the connection');
    this.name = 'ClientGone';
  }
}

/** A signal that aborts after `timeoutMs` (0: never) or when the client goes away before the answer. */
export function querySignal(reply: FastifyReply, timeoutMs: number, setting: string): AbortSignal {
  const ctl = new AbortController();
  const timer = timeoutMs > 0 ? setTimeout(() => ctl.abort(new QueryTimeout(timeoutMs, setting)), timeoutMs) : null;
  timer?.unref();
  // 'close' fires once the answer is sent, or earlier when the connection goes.
  reply.raw.once('close', () => {
    if (timer !== null) clearTimeout(timer);
    if (!reply.raw.writableFinished) ctl.abort(new ClientGone());
  });
  return ctl.signal;
}
