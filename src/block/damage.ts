/**
 * Telling a damaged block from a passing failure. A damaged block (truncated or garbled data.parquet)
 * fails the same way every time: it is quarantined, not retried forever. Anything else (out of
 * memory, too many open files, an interrupted query) may pass, so it is reported as it is.
 */

const DAMAGE = [
  /parquet/i,
  /magic/i,
  /corrupt/i,
  /too small/i,
  /truncated/i,
  /checksum/i,
  /thrift/i,
  /decompress/i,
  /unexpected end/i,
  /invalid input error/i,
  /no files found/i,
];
const PASSING = [/out of memory/i, /interrupt/i, /EMFILE|ENFILE|EAGAIN|ENOMEM/];

/** True when `err` says the block's files are damaged or gone for good. */
export function isBlockDamage(err: unknown): boolean {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  if (PASSING.some((re) => re.test(text))) return false;
  return DAMAGE.some((re) => re.test(text));
}
