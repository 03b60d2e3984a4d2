/**
 * Redaction at ingest: the distributor's first step, before the metrics generator, the WAL and the
 * head blocks see a span, so a secret a rule covers is never written anywhere. A batch no rule changes
 * is passed on as it is (same bytes, no re-encoding); one that changes is re-encoded from its spans.
 */
import { Counter } from 'prom-client';
import type { RedactionConfig } from '../config/redaction.js';
import { registry } from '../metrics/registry.js';
import type { PushBatch, SpanEntry } from '../model/batch.js';
import { PushError, type Pusher, type PushResult } from '../model/pusher.js';
import { encodeTrace } from '../otlp/trace-encode.js';
import { compileRules } from './rules.js';
import { RewriteContext, rewriteResource, rewriteScope, rewriteSpan } from './rewrite.js';

const applied = new Counter({
  name: 'rubato_redaction_applied_total',
  help: 'Attribute values and span names changed or dropped by a redaction rule, per tenant and rule.',
  labelNames: ['tenant', 'rule'] as const,
  registers: [registry],
});

const rewritten = new Counter({
  name: 'rubato_redaction_rewritten_requests_total',
  help: 'Push requests re-encoded because a redaction rule changed them, per tenant.',
  labelNames: ['tenant'] as const,
  registers: [registry],
});

/** A tenant's redaction sections: overrides.defaults', and its own (the defaults' when it has none). */
export interface TenantRedaction {
  readonly defaults: RedactionConfig;
  readonly tenant: RedactionConfig;
}

export interface Redactor {
  /** The batch with the tenant's rules applied: the same object when nothing changed. */
  redact(batch: PushBatch): PushBatch;
  /** Compiles a tenant's rules now (start-up), so a problem shows before the first push. */
  prepare(tenant: string): void;
}

interface Compiled {
  readonly defaults: RedactionConfig;
  /** null: the tenant has no rules at all. */
  readonly ctx: RewriteContext | null;
}

/** The tenant's own rules, or null when its section only repeats the defaults' (the overlay of overrides). */
function ownSection(r: TenantRedaction): RedactionConfig | null {
  if (r.tenant === r.defaults) return null;
  if (r.tenant.rules === r.defaults.rules || JSON.stringify(r.tenant.rules) === JSON.stringify(r.defaults.rules)) {
    return r.tenant.hash_key === r.defaults.hash_key && r.tenant.hash_key_file === r.defaults.hash_key_file && r.tenant.hash_key_env === r.defaults.hash_key_env
      ? null
      : { ...r.tenant, rules: [] };
  }
  return r.tenant;
}

/**
 * `settings` gives a tenant's sections; compiled rules are kept per section object, so overrides
 * re-read from their file are compiled again on first use. A hash rule without key: prepare throws
 * ConfigError; a push is refused as unavailable (clients retry) rather than stored unredacted.
 */
export function createRedactor(settings: (tenant: string) => TenantRedaction): Redactor {
  const compiled = new WeakMap<RedactionConfig, Compiled>();
  const contextFor = (tenant: string, atPush: boolean): RewriteContext | null => {
    const s = settings(tenant);
    const hit = compiled.get(s.tenant);
    if (hit !== undefined && hit.defaults === s.defaults) return hit.ctx;
    const own = ownSection(s);
    let ctx: RewriteContext | null = null;
    if (s.defaults.rules.length > 0 || (own !== null && own.rules.length > 0)) {
      try {
        ctx = new RewriteContext(compileRules(s.defaults, own, tenant));
      } catch (err) {
        if (!atPush) throw err;
        // Overrides re-read at run time whose hash key cannot be found: refuse (clients retry) rather
        // than store what the rules are meant to remove.
        throw new PushError('unavailable', `redaction rules of tenant ${tenant} cannot be applied: ${(err as Error).message}`);
      }
    }
    compiled.set(s.tenant, { defaults: s.defaults, ctx });
    return ctx;
  };
  return {
    prepare(tenant: string): void {
      contextFor(tenant, false);
    },
    redact(batch: PushBatch): PushBatch {
      const ctx = contextFor(batch.tenant, true);
      if (ctx === null || batch.spans.length === 0) return batch;
      const out = redactSpans(batch.spans, ctx);
      if (ctx.applied.size > 0) {
        for (const [rule, n] of ctx.applied) applied.inc({ tenant: batch.tenant, rule }, n);
        ctx.applied.clear();
      }
      if (out === null) return batch;
      rewritten.inc({ tenant: batch.tenant });
      const payload = encodeTrace(out);
      return { tenant: batch.tenant, spans: out, payload, byteSize: payload.length };
    },
  };
}

/** The spans with rules applied, or null when none changed. Resources and scopes are shared objects: each is looked at once. */
function redactSpans(spans: readonly SpanEntry[], ctx: RewriteContext): SpanEntry[] | null {
  const resources = new Map<Uint8Array, Uint8Array | undefined>();
  const scopes = new Map<Uint8Array, Uint8Array | undefined>();
  let out: SpanEntry[] | null = null;
  // Spans of one resource and scope come one after another: the previous span's answer is usually the one.
  let lastResource: Uint8Array | null = null;
  let lastScope: Uint8Array | null = null;
  let resource: Uint8Array | undefined;
  let scope: Uint8Array | undefined;
  for (let i = 0; i < spans.length; i++) {
    const e = spans[i]!;
    if (e.resource !== lastResource) {
      lastResource = e.resource;
      if (resources.has(e.resource)) resource = resources.get(e.resource);
      else {
        resource = rewriteResource(e.resource, ctx);
        resources.set(e.resource, resource);
      }
    }
    if (e.scope !== lastScope) {
      lastScope = e.scope;
      if (scopes.has(e.scope)) scope = scopes.get(e.scope);
      else {
        scope = rewriteScope(e.scope, ctx);
        scopes.set(e.scope, scope);
      }
    }
    const span = rewriteSpan(e.span, ctx);
    if (resource === undefined && scope === undefined && span === undefined) {
      out?.push(e);
      continue;
    }
    out ??= spans.slice(0, i);
    out.push({ ...e, resource: resource ?? e.resource, scope: scope ?? e.scope, span: span ?? e.span });
  }
  return out;
}

/** The distributor's push path with redaction in front: what reaches `inner` is already redacted. */
export function redactingPusher(inner: Pusher, redactor: Redactor): Pusher {
  return {
    async push(batch: PushBatch): Promise<PushResult> {
      return inner.push(redactor.redact(batch));
    },
  };
}
