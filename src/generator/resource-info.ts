/**
 * What the processors need from a span's resource (service name, attributes as label text, the
 * traces_target_info labels), decoded once per ResourceSpans: every span of one ResourceSpans shares
 * the same resource bytes object, so consecutive spans hit a one-entry identity cache.
 */
import { KEY_SEP, sanitizeLabelName } from './registry.js';
import { readResourceAttributes } from './span-fields.js';

export interface TargetInfo {
  readonly key: string;
  readonly names: readonly string[];
  readonly values: readonly string[];
}

export interface ResourceInfo {
  readonly service: string;
  /** A small number per distinct service name of the tenant (-1 past MAX_SERVICE_IDS): a hash input. */
  readonly serviceId: number;
  readonly attrs: ReadonlyMap<string, string>;
  /** null when the resource has nothing beyond job and instance (Tempo then emits no target_info). */
  readonly targetInfo: TargetInfo | null;
}

// Resource attributes that make up job and instance instead of labels of their own.
const TARGET_INFO_SKIP = new Set(['service.name', 'service.namespace', 'service.instance.id']);

/** Distinct service names numbered per tenant; beyond this, spans take the slower string path. */
const MAX_SERVICE_IDS = 10_000;

export function resourceInfo(
  resourceSpans: Uint8Array,
  maxLabelNameLength: number,
  maxLabelValueLength: number,
  serviceIds: Map<string, number>,
  withTargetInfo: boolean,
): ResourceInfo {
  const attrs = readResourceAttributes(resourceSpans);
  const service = attrs.get('service.name') ?? '';
  const ns = attrs.get('service.namespace');
  const cut = (v: string) => (v.length > maxLabelValueLength ? v.slice(0, maxLabelValueLength) : v);
  const svc = cut(service);
  let serviceId = serviceIds.get(svc);
  if (serviceId === undefined) {
    serviceId = serviceIds.size < MAX_SERVICE_IDS ? serviceIds.size : -1;
    if (serviceId >= 0) serviceIds.set(svc, serviceId);
  }
  if (!withTargetInfo) return { service: svc, serviceId, attrs, targetInfo: null };
  const names = ['job', 'instance'];
  const values = [cut(ns !== undefined && ns !== '' ? `${ns}/${service}` : service), cut(attrs.get('service.instance.id') ?? '')];
  for (const [k, v] of attrs) {
    if (TARGET_INFO_SKIP.has(k)) continue;
    const name = sanitizeLabelName(k, maxLabelNameLength);
    if (names.includes(name)) continue;
    names.push(name);
    values.push(cut(v));
  }
  const targetInfo = names.length > 2 ? { key: names.join(KEY_SEP) + KEY_SEP + values.join(KEY_SEP), names, values } : null;
  return { service: svc, serviceId, attrs, targetInfo };
}

/** Remembers the last resource decoded (spans of one ResourceSpans come one after another). */
export class ResourceCache {
  private lastBytes: Uint8Array | null = null;
  private lastInfo: ResourceInfo | null = null;
  private readonly serviceIds = new Map<string, number>();
  constructor(
    private readonly maxLabelNameLength: number,
    private readonly maxLabelValueLength: number,
    /** Build traces_target_info labels (only when span_metrics.enable_target_info). */
    private readonly withTargetInfo: boolean,
  ) {}

  get(resourceSpans: Uint8Array): ResourceInfo {
    if (resourceSpans === this.lastBytes && this.lastInfo !== null) return this.lastInfo;
    const info = resourceInfo(resourceSpans, this.maxLabelNameLength, this.maxLabelValueLength, this.serviceIds, this.withTargetInfo);
    this.lastBytes = resourceSpans;
    this.lastInfo = info;
    return info;
  }

  /** Lets go of the last request's buffer. */
  clear(): void {
    this.lastBytes = null;
    this.lastInfo = null;
  }
}
