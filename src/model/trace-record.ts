/** One trace as storage layers pass it around: its ID and the encoded tempopb.Trace. */
export interface TraceRecord {
  /** 32 lowercase hex characters. */
  readonly traceId: string;
  readonly trace: Uint8Array;
}
