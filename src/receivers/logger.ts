/** The slice of a pino-style logger the receivers use; a pino Logger satisfies it. */
export interface ReceiverLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Used when the caller passes no logger: internal errors still reach stderr. */
export const consoleLogger: ReceiverLogger = {
  warn: (obj, msg) => console.warn(msg, obj),
  error: (obj, msg) => console.error(msg, obj),
};
