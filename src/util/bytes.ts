// Sizes as Tempo's config accepts them: plain byte counts, or strings with a unit ("500MB", "64MiB",
// "63KiB1023B"). Like dskit's flagext.Bytes (alecthomas/units base-2), "MB" and "MiB" both mean 2^20:
// that is how Tempo reads "500MB" as 524288000.

const UNIT_BYTES: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 2 ** 10,
  kb: 2 ** 10,
  kib: 2 ** 10,
  m: 2 ** 20,
  mb: 2 ** 20,
  mib: 2 ** 20,
  g: 2 ** 30,
  gb: 2 ** 30,
  gib: 2 ** 30,
  t: 2 ** 40,
  tb: 2 ** 40,
  tib: 2 ** 40,
  p: 2 ** 50,
  pb: 2 ** 50,
  pib: 2 ** 50,
};

const SEGMENT = /\s*(\d+\.?\d*|\.\d+)\s*([a-zA-Z]*)/y;

/** Parses a size given as a number of bytes or a string like "500MB"; throws on bad input. */
export function parseBytes(input: number | string): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new Error(`invalid size ${input}`);
    return Math.floor(input);
  }
  const s = input.trim();
  if (s === '') throw new Error(`invalid size ""`);
  let pos = 0;
  let total = 0;
  while (pos < s.length) {
    SEGMENT.lastIndex = pos;
    const m = SEGMENT.exec(s);
    if (m === null) throw new Error(`invalid size "${input}"`);
    const unit = UNIT_BYTES[(m[2] as string).toLowerCase()];
    // A bare number only stands alone: "1 2" or "1..5MB" are typos, not sums.
    if (m[2] === '' && (pos !== 0 || SEGMENT.lastIndex !== s.length)) throw new Error(`invalid size "${input}"`);
    if (unit === undefined) throw new Error(`invalid size "${input}": unknown unit "${m[2]}"`);
    total += Number(m[1]) * unit;
    pos = SEGMENT.lastIndex;
  }
  return Math.floor(total);
}

/** Formats a byte count with the largest binary unit that divides it evenly ("64MiB", "1000B"). */
export function formatBytes(bytes: number): string {
  const units: ReadonlyArray<readonly [string, number]> = [
    ['PiB', 2 ** 50],
    ['TiB', 2 ** 40],
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ];
  for (const [name, size] of units) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${name}`;
  }
  return `${bytes}B`;
}
