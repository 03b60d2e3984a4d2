/**
 * Prometheus remote write 1.0 encoding: a registry's series as `prometheus.WriteRequest` protobuf
 * (field numbers from Prometheus' remote-write spec: WriteRequest.timeseries = 1; TimeSeries.labels = 1,
 * samples = 2, exemplars = 3; Label.name = 1, value = 2; Sample.value = 1 (double), timestamp = 2
 * (int64 ms); Exemplar.labels = 1, value = 2, timestamp = 3), snappy block-compressed.
 */
import snappy from 'snappyjs';
import { WIRE_FIXED64, WireWriter } from '../otlp/wire.js';
import type { ExtraLabels } from './exposition.js';
import type { SeriesRegistry } from './registry.js';

/** Series per WriteRequest; keeps each request well under receivers' body limits. */
const MAX_SERIES_PER_REQUEST = 2000;

export interface EncodedWrite {
  /** snappy-compressed WriteRequest */
  readonly body: Uint8Array;
  readonly samples: number;
  readonly exemplars: number;
}

interface PendingExemplar {
  readonly traceId: string;
  readonly value: number;
  readonly timestampMs: number;
}

class WriteBuilder {
  private w = new WireWriter(64 * 1024);
  private series = 0;
  private samples = 0;
  private exemplars = 0;
  readonly out: EncodedWrite[] = [];

  /** One TimeSeries; `labels` sorted by name, `initialZero` adds a 0 sample 1 ms before (new series). */
  add(labels: readonly (readonly [string, string])[], value: number, tsMs: number, initialZero: boolean, exemplar: PendingExemplar | undefined): void {
    const w = this.w;
    const ts = w.beginMessage(1);
    for (const [n, v] of labels) {
      const l = w.beginMessage(1);
      w.stringField(1, n);
      w.stringField(2, v);
      w.endMessage(l);
    }
    if (initialZero) {
      this.sample(0, tsMs - 1);
      this.samples++;
    }
    this.sample(value, tsMs);
    this.samples++;
    if (exemplar !== undefined) {
      const e = w.beginMessage(3);
      const l = w.beginMessage(1);
      w.stringField(1, 'traceID');
      w.stringField(2, exemplar.traceId);
      w.endMessage(l);
      w.tag(2, WIRE_FIXED64);
      w.double(exemplar.value);
      w.tag(3, 0);
      w.varint64(BigInt(Math.floor(exemplar.timestampMs)));
      w.endMessage(e);
      this.exemplars++;
    }
    w.endMessage(ts);
    if (++this.series >= MAX_SERIES_PER_REQUEST) this.flush();
  }

  private sample(value: number, tsMs: number): void {
    const w = this.w;
    const s = w.beginMessage(2);
    w.tag(1, WIRE_FIXED64);
    w.double(value);
    w.tag(2, 0);
    w.varint64(BigInt(Math.floor(tsMs)));
    w.endMessage(s);
  }

  flush(): void {
    if (this.series === 0) return;
    this.out.push({ body: snappy.compress(this.w.finish()), samples: this.samples, exemplars: this.exemplars });
    this.w = new WireWriter(64 * 1024);
    this.series = 0;
    this.samples = 0;
    this.exemplars = 0;
  }
}

function sortedLabels(name: string, names: readonly string[], values: readonly string[], extra: ExtraLabels, le?: string): [string, string][] {
  const out: [string, string][] = [['__name__', name]];
  for (const [n, v] of extra) out.push([n, v]);
  for (let i = 0; i < names.length; i++) {
    const v = values[i] ?? '';
    // Prometheus drops empty labels; sending them would make two names for one series.
    if (v !== '') out.push([names[i]!, v]);
  }
  if (le !== undefined) out.push(['le', le]);
  out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return out;
}

function leText(v: number): string {
  return v === Infinity ? '+Inf' : String(v);
}

/**
 * Encodes every series of the registry at `nowMs`. With `sendExemplars`, each bucket's exemplar goes
 * out once (on its `_bucket` series). With `mark`, series are marked collected and exemplars sent.
 */
export function encodeRegistry(reg: SeriesRegistry, extra: ExtraLabels, nowMs: number, sendExemplars: boolean, mark: boolean): EncodedWrite[] {
  const b = new WriteBuilder();
  for (const m of reg.metrics) {
    if (m.kind === 'histogram') {
      for (const s of m.series.values()) {
        const first = !s.collected;
        let cumulative = 0;
        for (let i = 0; i <= m.buckets.length; i++) {
          cumulative += s.counts[i]!;
          const ex = s.exemplars[i];
          const send = sendExemplars && ex !== undefined && s.exemplarsUnsent[i] === 1 ? ex : undefined;
          if (mark) s.exemplarsUnsent[i] = 0;
          b.add(
            sortedLabels(`${m.name}_bucket`, m.labelNames, s.values, extra, leText(i < m.buckets.length ? m.buckets[i]! : Infinity)),
            cumulative,
            nowMs,
            first,
            send,
          );
        }
        b.add(sortedLabels(`${m.name}_sum`, m.labelNames, s.values, extra), s.sum, nowMs, first, undefined);
        b.add(sortedLabels(`${m.name}_count`, m.labelNames, s.values, extra), s.count, nowMs, first, undefined);
        if (mark) s.collected = true;
      }
    } else {
      for (const s of m.series.values()) {
        b.add(sortedLabels(m.name, s.names ?? m.labelNames, s.values, extra), s.value, nowMs, !s.collected && m.kind === 'counter', undefined);
        if (mark) s.collected = true;
      }
    }
  }
  b.flush();
  return b.out;
}
