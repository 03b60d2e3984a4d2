// Builds the JSON schemas kubeconform validates against, from sources installed with the Go toolchain
// (kubeconform's default is to download them, which cannot be done here): Kubernetes' own OpenAPI
// document and the prometheus-operator ServiceMonitor CRD. The output follows kubeconform's layout
// (`<kind>-<group>-<version>.json`, every $ref inlined) and its "strict" flavour: objects that list
// their properties admit no others, so a misspelt or misplaced field fails validation.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** kubeconform's file name for a kind: `{{ .ResourceKind }}{{ .KindSuffix }}.json`. */
export function schemaFileName(apiVersion: string, kind: string): string {
  const [groupOrVersion = '', version] = apiVersion.split('/');
  const group = groupOrVersion.split('.')[0] ?? '';
  const suffix = version === undefined ? `-${groupOrVersion}` : `-${group}-${version}`;
  return `${kind.toLowerCase()}${suffix.toLowerCase()}.json`;
}

/** The template to pass to `kubeconform -schema-location` for a folder written by writeSchemas. */
export function schemaLocation(dir: string): string {
  return join(dir, '{{ .ResourceKind }}{{ .KindSuffix }}.json');
}

function strictify(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(strictify);
  if (!isObject(schema)) return schema;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(schema)) out[k] = k === 'enum' || k === 'default' ? v : strictify(v);
  if (isObject(out['properties']) && out['additionalProperties'] === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) {
    out['additionalProperties'] = false;
  }
  return out;
}

/** Inlines `#/definitions/...` references of Kubernetes' swagger document (cycles become `{}`). */
function inline(schema: Json, defs: JsonObject, seen: readonly string[]): Json {
  if (Array.isArray(schema)) return schema.map((s) => inline(s, defs, seen));
  if (!isObject(schema)) return schema;
  const ref = schema['$ref'];
  if (typeof ref === 'string') {
    const name = ref.replace('#/definitions/', '');
    if (seen.includes(name)) return {};
    const target = defs[name];
    if (target === undefined) throw new Error(`unknown definition ${name}`);
    return inline(target, defs, [...seen, name]);
  }
  // Kubernetes' two string-or-number types, as kubeconform's own schemas write them.
  if (schema['format'] === 'int-or-string') return { oneOf: [{ type: 'string' }, { type: 'integer' }] };
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(schema)) out[k] = k === 'enum' || k === 'default' ? v : inline(v, defs, seen);
  return out;
}

const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';

/**
 * Writes into `dir` a strict schema for each (apiVersion, kind) asked for that Kubernetes' OpenAPI
 * document or the ServiceMonitor CRD defines; returns the kinds it could not find.
 */
export function writeSchemas(
  dir: string,
  kinds: ReadonlyArray<{ apiVersion: string; kind: string }>,
  sources: { kubernetesOpenApi: string; serviceMonitorCrd: string },
): string[] {
  mkdirSync(dir, { recursive: true });
  const swagger = JSON.parse(readFileSync(sources.kubernetesOpenApi, 'utf8')) as JsonObject;
  const defs = swagger['definitions'];
  if (!isObject(defs)) throw new Error(`${sources.kubernetesOpenApi}: no definitions`);
  defs[QUANTITY] = { oneOf: [{ type: 'string' }, { type: 'number' }] };

  const byKind = new Map<string, Json>();
  for (const [name, def] of Object.entries(defs)) {
    if (!isObject(def)) continue;
    const gvks = def['x-kubernetes-group-version-kind'];
    if (!Array.isArray(gvks) || gvks.length !== 1 || !isObject(gvks[0])) continue;
    const { group, version, kind } = gvks[0];
    if (typeof group !== 'string' || typeof version !== 'string' || typeof kind !== 'string') continue;
    byKind.set(`${group === '' ? version : `${group}/${version}`} ${kind}`, name);
  }

  const crd = parse(readFileSync(sources.serviceMonitorCrd, 'utf8')) as JsonObject;
  const crdSpec = crd['spec'];
  if (isObject(crdSpec) && Array.isArray(crdSpec['versions'])) {
    for (const v of crdSpec['versions']) {
      const schema = isObject(v) && isObject(v['schema']) ? v['schema']['openAPIV3Schema'] : undefined;
      if (isObject(v) && schema !== undefined) byKind.set(`monitoring.coreos.com/${String(v['name'])} ServiceMonitor`, schema);
    }
  }

  const missing: string[] = [];
  for (const { apiVersion, kind } of kinds) {
    const found = byKind.get(`${apiVersion} ${kind}`);
    if (found === undefined) {
      missing.push(`${apiVersion} ${kind}`);
      continue;
    }
    const schema = typeof found === 'string' ? inline({ $ref: `#/definitions/${found}` }, defs, []) : found;
    writeFileSync(join(dir, schemaFileName(apiVersion, kind)), JSON.stringify(strictify(schema)));
  }
  return missing;
}
