import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

/** The process logger: pino's, so components can take child loggers with bound fields. */
export type Logger = PinoLogger;

export type LogFormat = 'logfmt' | 'json';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Creates the process logger. `level` comes from `server.log_level`, `format` from `server.log_format`
 * (Tempo's default is logfmt, which is what existing log pipelines parse). `destination` defaults to
 * stdout with synchronous writes so the last lines before a crash are not lost.
 */
export function createLogger(level: string, format: LogFormat = 'logfmt', destination?: DestinationStream): Logger {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new Error(`invalid log level "${level}": expected one of ${LOG_LEVELS.join(', ')}`);
  }
  const sink = destination ?? pino.destination({ dest: 1, sync: true });
  const options = {
    level,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (format === 'json') return pino(options, sink);
  return pino(options, { write: (line: string) => sink.write(jsonLineToLogfmt(line)) });
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
  else if (v !== null && typeof v === 'object' && 'message' in v && typeof v.message === 'string') s = v.message; // serialized Error
  else if (v !== null && typeof v === 'object') s = JSON.stringify(v);
  else s = String(v);
  return s === '' || /[\s="\\]/.test(s) ? JSON.stringify(s) : s;
}
