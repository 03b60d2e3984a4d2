import { writeSync } from 'node:fs';
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { Counter } from 'prom-client';
import { registry } from '../metrics/registry.js';

/** The process logger: pino's, so components can take child loggers with bound fields. */
export type Logger = PinoLogger;

export type LogFormat = 'logfmt' | 'json';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const droppedLogLines = new Counter({
  name: 'tempo_logger_dropped_lines_total',
  help: 'Log lines that could not be written to stdout (disk full, reader gone, pipe stalled) and were dropped.',
  registers: [registry],
});

/**
 * Creates the process logger. `level` comes from `server.log_level`, `format` from `server.log_format`
 * (Tempo's default is logfmt, which is what existing log pipelines parse). `destination` defaults to
 * stdout with synchronous writes so the last lines before a crash are not lost (see fdDestination).
 */
export function createLogger(level: string, format: LogFormat = 'logfmt', destination?: DestinationStream): Logger {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new Error(`invalid log level "${level}": expected one of ${LOG_LEVELS.join(', ')}`);
  }
  const sink = destination ?? fdDestination(1);
  const options = {
    level,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (format === 'json') return pino(options, sink);
  return pino(options, { write: (line: string) => sink.write(jsonLineToLogfmt(line)) });
}

/** How long in all a line waits for a stalled pipe (EAGAIN) before it is dropped. */
const STALL_WAIT_MS = 100;
const STALL_STEP_MS = 5;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * A synchronous log destination on a file descriptor that never throws. pino's own destination
 * (sonic-boom) raises a write error as an 'error' event, which with no listener kills the process
 * (stdout on a full disk: exit 1), and with one keeps the failed bytes queued without bound. Here a
 * line that cannot be written whole — ENOSPC, EPIPE (the reader is gone), EAGAIN for longer than a
 * short wait (a stalled non-blocking pipe) — is dropped and counted in tempo_logger_dropped_lines_total;
 * the next line tries again, so logging resumes by itself once the disk or pipe recovers.
 */
export function fdDestination(fd: number): DestinationStream {
  return {
    write(line: string): void {
      const buf = Buffer.from(line, 'utf8');
      let off = 0;
      let waited = 0;
      while (off < buf.length) {
        try {
          off += writeSync(fd, buf, off, buf.length - off);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EAGAIN' && waited < STALL_WAIT_MS) {
            Atomics.wait(sleeper, 0, 0, STALL_STEP_MS);
            waited += STALL_STEP_MS;
            continue;
          }
          droppedLogLines.inc();
          return;
        }
      }
    },
  };
}

/** Turns one pino JSON line into a logfmt line: level, ts, msg first, as Tempo's go-kit logger prints them. */
export function jsonLineToLogfmt(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const parts: string[] = [];
  const { level, time, msg, ...rest } = rec;
  if (level !== undefined) parts.push(`level=${logfmtValue(level)}`);
  if (time !== undefined) parts.push(`ts=${logfmtValue(time)}`);
  if (msg !== undefined) parts.push(`msg=${logfmtValue(msg)}`);
  for (const [k, v] of Object.entries(rest)) parts.push(`${k}=${logfmtValue(v)}`);
  return `${parts.join(' ')}\n`;
}

function logfmtValue(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = v;
  else if (v !== null && typeof v === 'object' && 'message' in v && typeof v.message === 'string')
    s = v.message; // serialized Error
  else if (v !== null && typeof v === 'object') s = JSON.stringify(v);
  else s = String(v);
  return s === '' || /[\s="\\]/.test(s) ? JSON.stringify(s) : s;
}
