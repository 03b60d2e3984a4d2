/**
 * WAL record framing.
 *
 * Layout (little-endian), HEADER_BYTES = 12:
 *   0  u8   magic 0xB7
 *   1  u8   version 1
 *   2  u16  tenant length in bytes (utf8)
 *   4  u32  payload length in bytes
 *   8  u32  CRC-32 over bytes 0..8 of the header, then the tenant bytes, then the payload
 *   12      tenant (utf8), payload
 *
 * The CRC covers the length fields too, so a flipped length bit is caught even when the bogus length
 * still fits inside the file. A zero-filled region (what some filesystems leave after a crash) fails
 * the magic check.
 */
import { crc32 } from '../util/crc32.js';

export const RECORD_MAGIC = 0xb7;
export const RECORD_VERSION = 1;
export const HEADER_BYTES = 12;
export const MAX_TENANT_BYTES = 0xffff;
/** Upper bound on a payload; larger lengths in a header are treated as corruption. */
export const MAX_PAYLOAD_BYTES = 0x7fffffff;

/**
 * Encodes the header and tenant of a record into one buffer. The payload is not copied: write it
 * right after this buffer (e.g. as the next iovec of a writev).
 */
export function encodeRecordHead(tenant: string, payload: Uint8Array): Buffer {
  const tenantBytes = Buffer.byteLength(tenant, 'utf8');
  if (tenantBytes > MAX_TENANT_BYTES) throw new RangeError(`wal: tenant is ${tenantBytes} bytes, limit ${MAX_TENANT_BYTES}`);
  if (payload.length > MAX_PAYLOAD_BYTES) throw new RangeError(`wal: payload is ${payload.length} bytes, limit ${MAX_PAYLOAD_BYTES}`);
  const head = Buffer.allocUnsafe(HEADER_BYTES + tenantBytes);
  head[0] = RECORD_MAGIC;
  head[1] = RECORD_VERSION;
  head.writeUInt16LE(tenantBytes, 2);
  head.writeUInt32LE(payload.length, 4);
  head.write(tenant, HEADER_BYTES, 'utf8');
  let crc = crc32(head.subarray(0, 8));
  crc = crc32(head.subarray(HEADER_BYTES), crc);
  crc = crc32(payload, crc);
  head.writeUInt32LE(crc, 8);
  return head;
}

/** Encodes a whole record into one buffer (tests and tools; the WAL writer uses encodeRecordHead). */
export function encodeRecord(tenant: string, payload: Uint8Array): Buffer {
  const head = encodeRecordHead(tenant, payload);
  return Buffer.concat([head, payload]);
}

/** Where the parts of a decoded record sit in the buffer it was decoded from. */
export interface RecordView {
  tenantStart: number;
  tenantEnd: number;
  payloadStart: number;
  payloadEnd: number;
  /** Offset just past the record (start of the next one). */
  next: number;
  /** On 'short': how many bytes from the record start are needed to decode it. */
  need: number;
  /** On 'corrupt': why. */
  reason: string;
}

export type DecodeStatus = 'ok' | 'short' | 'corrupt';

export function newRecordView(): RecordView {
  return { tenantStart: 0, tenantEnd: 0, payloadStart: 0, payloadEnd: 0, next: 0, need: 0, reason: '' };
}

/**
 * Decodes the record starting at `offset` in `buf[0..end)`, filling `out` (reused to keep the replay
 * loop allocation-free). 'short' means the bytes end before the record does; whether that is a torn
 * tail or just the end of a read chunk is for the caller to decide.
 */
export function decodeRecord(buf: Buffer, offset: number, end: number, out: RecordView): DecodeStatus {
  const avail = end - offset;
  if (avail < HEADER_BYTES) {
    // Check what we have so garbage is reported as corrupt rather than waiting for more bytes.
    if (avail >= 1 && buf[offset] !== RECORD_MAGIC) return corrupt(out, 'bad magic');
    if (avail >= 2 && buf[offset + 1] !== RECORD_VERSION) return corrupt(out, 'unknown version');
    out.need = HEADER_BYTES;
    return 'short';
  }
  if (buf[offset] !== RECORD_MAGIC) return corrupt(out, 'bad magic');
  if (buf[offset + 1] !== RECORD_VERSION) return corrupt(out, 'unknown version');
  const tenantLen = buf.readUInt16LE(offset + 2);
  const payloadLen = buf.readUInt32LE(offset + 4);
  if (payloadLen > MAX_PAYLOAD_BYTES) return corrupt(out, 'payload length out of range');
  const total = HEADER_BYTES + tenantLen + payloadLen;
  if (avail < total) {
    out.need = total;
    return 'short';
  }
  const tenantStart = offset + HEADER_BYTES;
  const payloadStart = tenantStart + tenantLen;
  const payloadEnd = offset + total;
  let crc = crc32(buf.subarray(offset, offset + 8));
  crc = crc32(buf.subarray(tenantStart, payloadEnd), crc);
  if (crc !== buf.readUInt32LE(offset + 8)) return corrupt(out, 'crc mismatch');
  out.tenantStart = tenantStart;
  out.tenantEnd = payloadStart;
  out.payloadStart = payloadStart;
  out.payloadEnd = payloadEnd;
  out.next = payloadEnd;
  return 'ok';
}

function corrupt(out: RecordView, reason: string): DecodeStatus {
  out.reason = reason;
  return 'corrupt';
}
