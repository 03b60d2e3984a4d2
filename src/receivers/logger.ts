import type { WarnLogger } from '../model/logger.js';

/** Used when the caller passes no logger: internal errors still reach stderr. */
export const consoleLogger: WarnLogger = {
  warn: (obj, msg) => console.warn(msg, obj),
  error: (obj, msg) => console.error(msg, obj),
};
