/**
 * The slice of a pino-style logger that modules take, so they need neither pino nor each other's
 * logger types. A pino Logger satisfies every one of these.
 */
export interface WarnLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface InfoLogger extends WarnLogger {
  info(obj: object, msg: string): void;
}
