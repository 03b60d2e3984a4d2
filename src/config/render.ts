import { stringify } from 'yaml';
import { z } from 'zod';
import { formatDuration } from '../util/duration.js';
import { fieldKinds } from './fields.js';
import { rubatoConfigSchema, type RubatoConfig } from './schema.js';
import { isPlainObject, unwrapSchema } from './schema-walk.js';
import { TYPED_NOT_WIRED } from './not-wired.js';

const SECRET_MASK = '********';
const NOT_WIRED: ReadonlySet<string> = new Set(TYPED_NOT_WIRED);

/**
 * The effective config as Tempo-layout YAML, for GET /status/config: durations back in Go form
 * ("1h0m0s"), sizes in bytes, secrets masked, disabled receivers left out. Keys that are not part of
 * Tempo's layout (the loaded per-tenant map) are left out too.
 */
export function renderConfig(cfg: RubatoConfig): string {
  const out = toTempoForm(rubatoConfigSchema, cfg, '') as { distributor?: { receivers?: { otlp?: { protocols?: object } } } };
  // Every receiver off is `receivers: {}`; an empty `protocols:` would not load again.
  const receivers = out.distributor?.receivers;
  if (receivers?.otlp?.protocols !== undefined && Object.keys(receivers.otlp.protocols).length === 0) delete receivers.otlp;
  return stringify(out, { lineWidth: 0 });
}

function toTempoForm(schema: z.core.$ZodType, value: unknown, path: string): unknown {
  const kind = fieldKinds.get(schema)?.kind;
  if (kind === 'duration' && typeof value === 'number') return formatDuration(value);
  if (kind === 'secret' && typeof value === 'string') return value === '' ? '' : SECRET_MASK;
  const s = unwrapSchema(schema);
  if (s instanceof z.ZodObject && isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(s.shape as Record<string, z.core.$ZodType>)) {
      const v = value[key];
      const at = path === '' ? key : `${path}.${key}`;
      // Keys rubato does not act on are left out, as the untyped accepted keys are.
      if (v === null || v === undefined || NOT_WIRED.has(at)) continue;
      out[key] = toTempoForm(field, v, at);
    }
    return out;
  }
  if (s instanceof z.ZodRecord && isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) out[key] = toTempoForm(s.valueType, v, `${path}.${key}`);
    return out;
  }
  if (s instanceof z.ZodArray && Array.isArray(value)) return value.map((v, i) => toTempoForm(s.element, v, `${path}.${i}`));
  return value;
}
