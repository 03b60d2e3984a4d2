/**
 * Metrics answers in Tempo's wire shapes: tempopb.QueryRangeResponse and QueryInstantResponse as
 * Go's jsonpb writes them (int64 as strings, zero values left out, NaN as "NaN") and as protobuf.
 */
import { WireWriter } from '../otlp/wire.js';
import type { MetricsAnswer } from '../querier/metrics.js';
import type { MetricsSeries, ResultValue, SeriesLabel } from '../traceql/index.js';
import { anyValueJson, metricsJson, writeAnyValue, writeSearchMetrics, type Json } from './search-encode.js';

type JsonObject = { [k: string]: Json };

// A nil label value is written as the string "nil", as Tempo does.
const labelValue = (v: ResultValue): ResultValue => (v.type === 'nil' ? { type: 'string', value: 'nil' } : v);

function labelsJson(labels: readonly SeriesLabel[]): Json[] {
  return labels.map((l) => ({ key: l.name, value: anyValueJson(labelValue(l.value)) }));
}

function doubleJson(v: number): Json {
  return Number.isFinite(v) ? v : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

/** Samples of a series: one per interval that has a value. */
function samplesOf(s: MetricsSeries, timestampsMs: readonly number[]): { t: number; v: number }[] {
  const out: { t: number; v: number }[] = [];
  s.values.forEach((v, i) => {
    const t = timestampsMs[i];
    if (!Number.isNaN(v) && t !== undefined) out.push({ t, v });
  });
  return out;
}

export function queryRangeJson(a: MetricsAnswer): JsonObject {
  const series: Json[] = [];
  for (const s of a.series) {
    const samples = samplesOf(s, a.timestampsMs);
    if (samples.length === 0) continue;
    const o: JsonObject = {
      labels: labelsJson(s.labels),
      samples: samples.map(({ t, v }) => {
        const so: JsonObject = { timestampMs: String(t) };
        if (v !== 0) so['value'] = doubleJson(v);
        return so;
      }),
    };
    if (s.exemplars.length > 0) {
      o['exemplars'] = s.exemplars.map((e) => {
        const eo: JsonObject = { labels: labelsJson(e.labels) };
        if (e.value !== 0) eo['value'] = doubleJson(e.value);
        eo['timestampMs'] = String(e.timestampMs);
        return eo;
      });
    }
    series.push(o);
  }
  return withStatus({ series, metrics: metricsJson(a.metrics) }, a);
}

/** A partial answer says so, as Tempo's: `status: PARTIAL` and the reason. */
function withStatus(o: JsonObject, a: MetricsAnswer): JsonObject {
  if (a.partial !== undefined) {
    o['status'] = 'PARTIAL';
    o['message'] = a.partial;
  }
  return o;
}

/** Instant answers: the one value of each series. */
export function queryInstantJson(a: MetricsAnswer): JsonObject {
  const series: Json[] = [];
  for (const s of a.series) {
    const v = s.values[0];
    if (v === undefined || Number.isNaN(v)) continue;
    const o: JsonObject = { labels: labelsJson(s.labels) };
    if (v !== 0) o['value'] = doubleJson(v);
    series.push(o);
  }
  return withStatus({ series, metrics: metricsJson(a.metrics) }, a);
}

function writeLabels(w: WireWriter, field: number, labels: readonly SeriesLabel[]): void {
  for (const l of labels) {
    const kv = w.beginMessage(field);
    w.stringField(1, l.name);
    writeAnyValue(w, 2, labelValue(l.value));
    w.endMessage(kv);
  }
}

function writeDouble(w: WireWriter, field: number, v: number): void {
  if (v === 0) return;
  w.tag(field, 1);
  w.double(v);
}

function writeInt64(w: WireWriter, field: number, v: number): void {
  if (v === 0) return;
  w.tag(field, 0);
  w.varint64(BigInt(Math.trunc(v)));
}

function writeStatus(w: WireWriter, a: MetricsAnswer): void {
  if (a.partial === undefined) return;
  w.tag(3, 0);
  w.varint(1);
  w.stringField(4, a.partial);
}

/** tempopb.QueryRangeResponse. */
export function encodeQueryRange(a: MetricsAnswer): Uint8Array {
  const w = new WireWriter(4096);
  for (const s of a.series) {
    const samples = samplesOf(s, a.timestampsMs);
    if (samples.length === 0) continue;
    const m = w.beginMessage(1);
    writeLabels(w, 1, s.labels);
    for (const { t, v } of samples) {
      const sm = w.beginMessage(2);
      writeDouble(w, 1, v);
      writeInt64(w, 2, t);
      w.endMessage(sm);
    }
    for (const e of s.exemplars) {
      const em = w.beginMessage(4);
      writeLabels(w, 1, e.labels);
      writeDouble(w, 2, e.value);
      writeInt64(w, 3, e.timestampMs);
      w.endMessage(em);
    }
    w.endMessage(m);
  }
  writeSearchMetrics(w, 2, a.metrics);
  writeStatus(w, a);
  return w.finish();
}

/** tempopb.QueryInstantResponse. */
export function encodeQueryInstant(a: MetricsAnswer): Uint8Array {
  const w = new WireWriter(1024);
  for (const s of a.series) {
    const v = s.values[0];
    if (v === undefined || Number.isNaN(v)) continue;
    const m = w.beginMessage(1);
    writeLabels(w, 1, s.labels);
    writeDouble(w, 2, v);
    w.endMessage(m);
  }
  writeSearchMetrics(w, 2, a.metrics);
  writeStatus(w, a);
  return w.finish();
}
