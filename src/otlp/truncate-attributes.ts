/**
 * Tempo's `distributor.max_attribute_bytes`: attribute keys and string values longer than the limit
 * are cut to it before anything is stored, so one 4 MB attribute cannot bloat the WAL, blocks and
 * every query answer. Works on the encoded ExportTraceServiceRequest: a message no longer than the
 * limit cannot hold anything to cut, so ordinary spans are stepped over by their length alone, and
 * only the messages on the path to a cut are re-encoded.
 */
import { OtlpDecodeError } from './errors.js';
import { WIRE_LEN, WireReader } from './wire.js';

/** Where a cut attribute sat: the `scope` label of tempo_distributor_attributes_truncated_total. */
export type AttributeScope = 'resource' | 'scope' | 'span' | 'event' | 'link';

export type TruncatedCounts = Record<AttributeScope, number>;

/** A message type on the way to attributes, or one of the two leaves that may be cut. */
type Kind = 'request' | 'resourceSpans' | 'resource' | 'scopeSpans' | 'scope' | 'span' | 'event' | 'link' | 'keyValue' | 'anyValue';

/** Field number → what it holds, for the fields that can lead to an attribute; `cut` is a string to shorten. */
const FIELDS: Record<Kind, Readonly<Record<number, Kind | 'cut'>>> = {
  request: { 1: 'resourceSpans' },
  resourceSpans: { 1: 'resource', 2: 'scopeSpans' },
  resource: { 1: 'keyValue' },
  scopeSpans: { 1: 'scope', 2: 'span' },
  scope: { 3: 'keyValue' },
  span: { 9: 'keyValue', 11: 'event', 13: 'link' },
  event: { 3: 'keyValue' },
  link: { 4: 'keyValue' },
  keyValue: { 1: 'cut', 2: 'anyValue' },
  // Only a plain string value is cut, as Tempo does; arrays and maps are left whole.
  anyValue: { 1: 'cut' },
};

/** The attribute scope a message's own attributes belong to. */
const SCOPE_OF: Partial<Record<Kind, AttributeScope>> = { resource: 'resource', scope: 'scope', span: 'span', event: 'event', link: 'link' };

export interface TruncateResult {
  /** The request with every long key and string value cut; the input itself when nothing was cut. */
  readonly bytes: Uint8Array;
  readonly counts: TruncatedCounts;
  /** Sum of counts. */
  readonly total: number;
}

/** Longest prefix of buf[start, end) within `max` bytes that does not split a UTF-8 character. */
function utf8Cut(buf: Uint8Array, start: number, max: number): number {
  let end = start + max;
  // Step back over continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > start && (buf[end]! & 0xc0) === 0x80) end--;
  return end;
}

function writeVarint(out: number[], n: number): void {
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

class Truncator {
  readonly counts: TruncatedCounts = { resource: 0, scope: 0, span: 0, event: 0, link: 0 };
  total = 0;

  constructor(
    private readonly buf: Uint8Array,
    private readonly max: number,
  ) {}

  /**
   * The new content of the message buf[start, end) of kind `kind`, or null when nothing in it is cut.
   * `scope` is the attribute scope of the enclosing attributes, once inside one.
   */
  message(kind: Kind, start: number, end: number, scope: AttributeScope | null): Uint8Array | null {
    // Nothing longer than the limit fits in a message that is not.
    if (end - start <= this.max) return null;
    const fields = FIELDS[kind];
    const inner = SCOPE_OF[kind] ?? scope;
    const r = new WireReader(this.buf, start, end);
    let parts: Uint8Array[] | null = null;
    let copied = start;
    while (!r.eof()) {
      const fieldStart = r.pos;
      const tag = r.tag();
      const child = fields[tag >>> 3];
      if ((tag & 7) !== WIRE_LEN || child === undefined) {
        r.skip(tag & 7);
        continue;
      }
      const dataEnd = r.lenEnd();
      const dataStart = r.pos;
      r.pos = dataEnd;
      let replacement: Uint8Array | null;
      if (child === 'cut') {
        if (dataEnd - dataStart <= this.max) continue;
        if (inner === null) throw new OtlpDecodeError('attribute outside any attribute scope');
        replacement = this.buf.subarray(dataStart, utf8Cut(this.buf, dataStart, this.max));
        this.counts[inner]++;
        this.total++;
      } else {
        replacement = this.message(child, dataStart, dataEnd, inner);
        if (replacement === null) continue;
      }
      parts ??= [];
      parts.push(this.buf.subarray(copied, fieldStart));
      const head: number[] = [];
      writeVarint(head, tag);
      writeVarint(head, replacement.length);
      parts.push(Uint8Array.from(head), replacement);
      copied = dataEnd;
    }
    if (parts === null) return null;
    parts.push(this.buf.subarray(copied, end));
    return Buffer.concat(parts);
  }
}

/**
 * Cuts attribute keys and string values (resource, instrumentation scope, span, event and link
 * attributes) longer than `maxBytes` to `maxBytes`, at a UTF-8 character boundary (Tempo cuts at the
 * byte, which can leave invalid UTF-8). `maxBytes` 0 turns the check off. Throws OtlpDecodeError on
 * malformed input, as the decoder would.
 */
export function truncateAttributes(request: Uint8Array, maxBytes: number): TruncateResult {
  const t = new Truncator(request, maxBytes);
  const out = maxBytes > 0 ? t.message('request', 0, request.length, null) : null;
  return { bytes: out ?? request, counts: t.counts, total: t.total };
}
