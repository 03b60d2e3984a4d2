// What the chart tests share: rendering deploy/helm/rubato with `helm template` as the team's release,
// validating the output with kubeconform -strict, and reading the rendered objects. A module of its own
// so the single-binary and the distributed-mode tests can be separate files (each file runs under the
// test runner's per-file timeout).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { projectRoot } from '../support/rubato-process.js';
import { schemaLocation, writeSchemas } from './k8s-schemas.js';
import { needs, run, toolsFile } from './tools.js';

export const chartDir = join(projectRoot, 'deploy', 'helm', 'rubato');
/** The team's values and the config their tempo chart renders (shared/ sits beside the repository). */
const seedDir = join(projectRoot, '..', 'shared', 'fixtures', 'seed-deployment');
export const teamValues = join(seedDir, 'values.yaml');
export const seedTempoYaml = join(seedDir, 'tempo.yaml');

/** node:test's `skip` for the chart tests: the tools and schema sources they need. */
export const skipWithoutHelm = needs(['helm', 'kubeconform'], ['kubernetes-openapi.json', 'servicemonitor-crd.yaml']);

// Loose shapes of the rendered objects: the tests read fields and let assert report what is missing.
export type Obj = Record<string, unknown>;
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Obj;
  data?: Record<string, string>;
}

export interface Container {
  name: string;
  image: string;
  args: string[];
  ports: Array<{ name: string; containerPort: number }>;
  livenessProbe: { httpGet: { path: string; port: string | number } };
  readinessProbe: { httpGet: { path: string; port: string | number } };
  securityContext: Obj;
  resources: Obj;
  env?: Array<{ name: string; value?: string }>;
  volumeMounts: Array<{ name: string; mountPath: string }>;
}

let work = '';

/** A scratch folder for helm's homes, schemas and rendered files; call from `before`. */
export function openWorkDir(): string {
  work = mkdtempSync(join(tmpdir(), 'rubato-helm-'));
  return work;
}

/** Removes the scratch folder; call from `after`. */
export function closeWorkDir(): void {
  rmSync(work, { recursive: true, force: true });
}

export function workDir(): string {
  return work;
}

export const helmEnv = (): Record<string, string> => ({
  HELM_CACHE_HOME: join(work, 'helm', 'cache'),
  HELM_CONFIG_HOME: join(work, 'helm', 'config'),
  HELM_DATA_HOME: join(work, 'helm', 'data'),
});

/** `helm template` as release "tempo" in namespace "tempo" (the team's), with these values files and --set pairs. */
export function render(valuesFiles: readonly string[] = [], set: readonly string[] = []): { text: string; manifests: Manifest[] } {
  const args = ['template', 'tempo', chartDir, '--namespace', 'tempo'];
  for (const f of valuesFiles) args.push('--values', f);
  for (const s of set) args.push('--set', s);
  const text = run('helm', args, { env: helmEnv() });
  const manifests = parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
  return { text, manifests };
}

export function find(manifests: readonly Manifest[], kind: string): Manifest {
  const m = manifests.find((x) => x.kind === kind);
  assert.ok(m, `no ${kind} rendered; kinds: ${manifests.map((x) => x.kind).join(', ')}`);
  return m;
}

/** kubeconform -strict over the rendered text, with schemas built from Kubernetes' OpenAPI and the CRD. */
export function kubeconform(text: string, manifests: readonly Manifest[]): void {
  const schemas = join(work, 'schemas');
  const missing = writeSchemas(
    schemas,
    manifests.map((m) => ({ apiVersion: m.apiVersion, kind: m.kind })),
    { kubernetesOpenApi: toolsFile('kubernetes-openapi.json') ?? '', serviceMonitorCrd: toolsFile('servicemonitor-crd.yaml') ?? '' },
  );
  assert.deepEqual(missing, [], 'every rendered kind has a schema');
  const file = join(work, `manifests-${Date.now()}.yaml`);
  writeFileSync(file, text);
  const out = run('kubeconform', ['-strict', '-summary', '-output', 'json', '-schema-location', schemaLocation(schemas), file]);
  const summary = (JSON.parse(out) as { summary: { valid: number; invalid: number; errors: number; skipped: number } }).summary;
  assert.deepEqual(summary, { valid: manifests.length, invalid: 0, errors: 0, skipped: 0 });
}

export function renderedConfig(manifests: readonly Manifest[]): Obj {
  const text = find(manifests, 'ConfigMap').data?.['tempo.yaml'];
  assert.ok(text, 'ConfigMap has tempo.yaml');
  return parse(text) as Obj;
}
