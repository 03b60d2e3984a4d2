// Go-style durations ("1m30s", "72h", "500ms") as used throughout Tempo's YAML, plus the
// Prometheus-style day/week/year units ("1d", "2w") that users carry over from Prometheus configs.
// Values are kept as milliseconds (possibly fractional for sub-millisecond units).

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 MICRO SIGN, what Go prints
  μs: 1e-3, // U+03BC GREEK SMALL LETTER MU, what Go also accepts
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

const SEGMENT = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w|y)/y;

/** Parses a Go-style duration into milliseconds; throws on anything Go's time.ParseDuration would reject. */
export function parseDuration(input: string): number {
  const s = input.trim();
  if (s === '') throw new Error(`invalid duration ""`);
  let pos = 0;
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    sign = s[0] === '-' ? -1 : 1;
    pos = 1;
  }
  // Go accepts a bare zero without a unit and nothing else unit-less.
  if (s.slice(pos) === '0') return 0;
  if (pos === s.length) throw new Error(`invalid duration "${input}"`);
  let total = 0;
  while (pos < s.length) {
    SEGMENT.lastIndex = pos;
    const m = SEGMENT.exec(s);
    if (m === null) throw new Error(`invalid duration "${input}"`);
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    pos = SEGMENT.lastIndex;
  }
  if (!Number.isFinite(total)) throw new Error(`invalid duration "${input}"`);
  return sign * total;
}

function trimNumber(n: number): string {
  // toFixed(9) drops float noise (0.30000000000000004) that Go's integer arithmetic never shows.
  return String(Number(n.toFixed(9)));
}

/** Formats milliseconds the way Go's time.Duration.String does ("1h0m0s", "1m30s", "500ms", "0s"). */
export function formatDuration(ms: number): string {
  if (ms === 0 || !Number.isFinite(ms)) return '0s';
  const sign = ms < 0 ? '-' : '';
  let v = Math.abs(ms);
  if (v < 1) {
    const us = v * 1000;
    if (us >= 1) return `${sign}${trimNumber(us)}µs`;
    return `${sign}${trimNumber(us * 1000)}ns`;
  }
  if (v < 1000) return `${sign}${trimNumber(v)}ms`;
  const h = Math.floor(v / 3_600_000);
  v -= h * 3_600_000;
  const m = Math.floor(v / 60_000);
  v -= m * 60_000;
  let out = sign;
  if (h > 0) out += `${h}h`;
  if (h > 0 || m > 0) out += `${m}m`;
  return `${out}${trimNumber(v / 1000)}s`;
}
