/**
 * Parses a trace ID as Tempo's API takes it: hex, case-insensitive, up to 32 digits, left-padded
 * with zeros to 128 bits. Returns 32 lowercase hex digits, or null when the input is not a trace ID.
 */
export function parseTraceId(input: string): string | null {
  const s = input.trim().toLowerCase();
  if (s.length === 0 || s.length > 32 || !/^[0-9a-f]+$/.test(s)) return null;
  if (/^0+$/.test(s)) return null;
  return s.padStart(32, '0');
}
