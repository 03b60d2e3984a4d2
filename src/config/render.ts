import { stringify } from 'yaml';
import { z } from 'zod';
import { formatDuration } from '../util/duration.js';
import { fieldKinds } from './fields.js';
import { rubatoConfigSchema, type RubatoConfig } from './schema.js';
import { isPlainObject, unwrapSchema } from './schema-walk.js';

const SECRET_MASK = '********';

/**
 * The effective config as Tempo-layout YAML, for GET /status/config: durations back in Go form
 * ("1h0m0s"), sizes in bytes, secrets masked, disabled receivers left out. Keys that are not part of
 * Tempo's layout (the loaded per-tenant map) are left out too.
 */
export function renderConfig(cfg: RubatoConfig): string {
  const out = toTempoForm(rubatoConfigSchema, cfg) as { distributor?: { receivers?: { otlp?: { protocols?: object } } } };
  // Every receiver off is `receivers: {}`; an empty `protocols:` would not load again.
  const receivers = out.distributor?.receivers;
  if (receivers?.otlp?.protocols !== undefined && Object.keys(receivers.otlp.protocols).length === 0) delete receivers.otlp;
  return stringify(out, { lineWidth: 0 });
}

function toTempoForm(schema: z.core.$ZodType, value: unknown): unknown {
  const kind = fieldKinds.get(schema)?.kind;
  if (kind === 'duration' && typeof value === 'number') return formatDuration(value);
  if (kind === 'secret' && typeof value === 'string') return value === '' ? '' : SECRET_MASK;
  const s = unwrapSchema(schema);
  if (s instanceof z.ZodObject && isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(s.shape as Record<string, z.core.$ZodType>)) {
      const v = value[key];
      if (v === null || v === undefined) continue;
      out[key] = toTempoForm(field, v);
    }
    return out;
  }
  if (s instanceof z.ZodRecord && isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) out[key] = toTempoForm(s.valueType, v);
    return out;
  }
  if (s instanceof z.ZodArray && Array.isArray(value)) return value.map((v) => toTempoForm(s.element, v));
  return value;
}
