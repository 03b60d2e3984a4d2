// The Helm chart (deploy/helm/rubato) against the team's real values file: it must lint, render
// manifests that Kubernetes' own schemas accept (kubeconform, strict), carry what the values ask for
// (image, resources, env, ServiceMonitor, volumes, locked-down pods, an in-cluster-only NetworkPolicy),
// and render a config that the tempo chart would have rendered and that really starts rubato.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { freePort } from '../support/ports.js';
import { projectRoot } from '../support/rubato-process.js';
import { schemaLocation, writeSchemas } from './k8s-schemas.js';
import { needs, run, toolsFile } from './tools.js';

const chartDir = join(projectRoot, 'deploy', 'helm', 'rubato');
/** The team's values and the config their tempo chart renders (shared/ sits beside the repository). */
const seedDir = join(projectRoot, '..', 'shared', 'fixtures', 'seed-deployment');
const teamValues = join(seedDir, 'values.yaml');
const seedTempoYaml = join(seedDir, 'tempo.yaml');

const skip = needs(['helm', 'kubeconform'], ['kubernetes-openapi.json', 'servicemonitor-crd.yaml']);

// Loose shapes of the rendered objects: the tests read fields and let assert report what is missing.
type Obj = Record<string, unknown>;
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Obj;
  data?: Record<string, string>;
}

let work = '';
const helmEnv = (): Record<string, string> => ({
  HELM_CACHE_HOME: join(work, 'helm', 'cache'),
  HELM_CONFIG_HOME: join(work, 'helm', 'config'),
  HELM_DATA_HOME: join(work, 'helm', 'data'),
});

/** `helm template` as release "tempo" in namespace "tempo" (the team's), with these values files and --set pairs. */
function render(valuesFiles: readonly string[] = [], set: readonly string[] = []): { text: string; manifests: Manifest[] } {
  const args = ['template', 'tempo', chartDir, '--namespace', 'tempo'];
  for (const f of valuesFiles) args.push('--values', f);
  for (const s of set) args.push('--set', s);
  const text = run('helm', args, { env: helmEnv() });
  const manifests = parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
  return { text, manifests };
}

function find(manifests: readonly Manifest[], kind: string): Manifest {
  const m = manifests.find((x) => x.kind === kind);
  assert.ok(m, `no ${kind} rendered; kinds: ${manifests.map((x) => x.kind).join(', ')}`);
  return m;
}

/** kubeconform -strict over the rendered text, with schemas built from Kubernetes' OpenAPI and the CRD. */
function kubeconform(text: string, manifests: readonly Manifest[]): void {
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

function podSpec(manifests: readonly Manifest[]): Obj {
  const sts = find(manifests, 'StatefulSet');
  const template = sts.spec?.['template'] as { spec: Obj };
  return template.spec;
}

interface Container {
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

function container(manifests: readonly Manifest[]): Container {
  const containers = podSpec(manifests)['containers'] as Container[];
  assert.equal(containers.length, 1);
  return containers[0] as Container;
}

function renderedConfig(manifests: readonly Manifest[]): Obj {
  const text = find(manifests, 'ConfigMap').data?.['tempo.yaml'];
  assert.ok(text, 'ConfigMap has tempo.yaml');
  return parse(text) as Obj;
}

describe('helm chart deploy/helm/rubato', { skip }, () => {
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'rubato-helm-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('passes helm lint --strict with the default values and with the team values', () => {
    run('helm', ['lint', '--strict', chartDir], { env: helmEnv() });
    run('helm', ['lint', '--strict', chartDir, '--values', teamValues], { env: helmEnv() });
  });

  it('renders, with the default values, manifests that kubeconform -strict accepts', () => {
    const { text, manifests } = render();
    assert.deepEqual(manifests.map((m) => m.kind).sort(), ['ConfigMap', 'Service', 'ServiceAccount', 'StatefulSet']);
    kubeconform(text, manifests);
  });

  it('runs a locked-down pod: non-root, read-only root filesystem, no capabilities, writable /var/tempo and /tmp only', () => {
    const { manifests } = render();
    const pod = podSpec(manifests);
    const c = container(manifests);
    assert.deepEqual(pod['securityContext'], {
      runAsUser: 10001,
      runAsGroup: 10001,
      fsGroup: 10001,
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.equal(c.securityContext['runAsNonRoot'], true);
    assert.equal(c.securityContext['readOnlyRootFilesystem'], true);
    assert.equal(c.securityContext['allowPrivilegeEscalation'], false);
    assert.deepEqual(c.securityContext['capabilities'], { drop: ['ALL'] });
    assert.equal(pod['automountServiceAccountToken'], false);

    const mounts = Object.fromEntries(c.volumeMounts.map((m) => [m.mountPath, m.name]));
    assert.deepEqual(mounts, { '/conf': 'tempo-conf', '/var/tempo': 'storage', '/tmp': 'tmp' });
    const volumes = pod['volumes'] as Array<{ name: string; emptyDir?: Obj; configMap?: { name: string } }>;
    assert.deepEqual(volumes.find((v) => v.name === 'storage')?.emptyDir, {});
    assert.deepEqual(volumes.find((v) => v.name === 'tmp')?.emptyDir, {});
    assert.equal(volumes.find((v) => v.name === 'tempo-conf')?.configMap?.name, 'tempo');
    assert.deepEqual(c.args, ['-config.file=/conf/tempo.yaml']);
  });

  it('exposes 3100, 4317 and 4318 under the tempo chart port names, with probes on the API port', () => {
    const { manifests } = render();
    const c = container(manifests);
    assert.deepEqual(
      c.ports.map((p) => [p.name, p.containerPort]),
      [
        ['prom-metrics', 3100],
        ['otlp-grpc', 4317],
        ['otlp-http', 4318],
      ],
    );
    assert.deepEqual(c.readinessProbe.httpGet, { path: '/ready', port: 'prom-metrics' });
    assert.deepEqual(c.livenessProbe.httpGet, { path: '/api/echo', port: 'prom-metrics' });

    const svc = find(manifests, 'Service');
    assert.equal(svc.metadata.name, 'tempo', 'release "tempo" keeps the service name clients use');
    const ports = (svc.spec!['ports'] as Array<{ name: string; port: number; targetPort: string }>).map((p) => [p.name, p.port, p.targetPort]);
    assert.deepEqual(ports, [
      ['tempo-prom-metrics', 3100, 'prom-metrics'],
      ['grpc-tempo-otlp', 4317, 'otlp-grpc'],
      ['tempo-otlp-http', 4318, 'otlp-http'],
    ]);
    assert.equal(svc.spec?.['type'], 'ClusterIP');
  });

  it('takes the team values: image, resources, extraEnv, volumes, priority class, ServiceMonitor — and kubeconform accepts them', () => {
    const { text, manifests } = render([teamValues], ['tempo.repository=registry.example/rubato', 'tempo.tag=0.1.0']);
    kubeconform(text, manifests);
    assert.deepEqual(manifests.map((m) => m.kind).sort(), ['ConfigMap', 'Service', 'ServiceAccount', 'ServiceMonitor', 'StatefulSet']);
    const team = parse(readFileSync(teamValues, 'utf8')) as { tempo: { resources: Obj; extraEnv: unknown[] } };
    const c = container(manifests);
    assert.equal(c.image, 'registry.example/rubato:0.1.0');
    assert.deepEqual(c.resources, team.tempo.resources);
    assert.deepEqual(c.env, team.tempo.extraEnv);
    assert.equal(podSpec(manifests)['priorityClassName'], 'medium-priority');

    // The team mounts their own emptyDir "data" at /var/tempo: the chart must not mount a second one there.
    const mounts = c.volumeMounts.map((m) => `${m.mountPath}=${m.name}`).sort();
    assert.deepEqual(mounts, ['/conf=tempo-conf', '/tmp=tmp', '/var/tempo=data']);
    const volumes = (podSpec(manifests)['volumes'] as Array<{ name: string }>).map((v) => v.name).sort();
    assert.deepEqual(volumes, ['data', 'tempo-conf', 'tmp']);

    const sm = find(manifests, 'ServiceMonitor');
    assert.equal(sm.metadata.labels?.['release'], 'prometheus');
    const endpoints = sm.spec?.['endpoints'] as Array<{ port: string; path: string }>;
    assert.deepEqual(
      endpoints.map((e) => [e.port, e.path]),
      [['tempo-prom-metrics', '/metrics']],
    );
    const svc = find(manifests, 'Service');
    const selector = (sm.spec!['selector'] as { matchLabels: Record<string, string> }).matchLabels;
    for (const [k, v] of Object.entries(selector)) assert.equal(svc.metadata.labels?.[k], v, `service has label ${k}`);
  });

  it('renders from the team values the same config file their tempo chart renders', () => {
    const { manifests } = render([teamValues]);
    assert.deepEqual(renderedConfig(manifests), parse(readFileSync(seedTempoYaml, 'utf8')));
    assert.deepEqual(parse(find(manifests, 'ConfigMap').data?.['overrides.yaml'] ?? ''), { overrides: {} });
  });

  it('renders metrics_generator with the remote-write URL when metricsGenerator is enabled', () => {
    const url = 'http://prometheus-kube-prometheus-prometheus.prometheus.svc:9090/api/v1/write';
    const { text, manifests } = render([teamValues], ['tempo.metricsGenerator.enabled=true', `tempo.metricsGenerator.remoteWriteUrl=${url}`]);
    kubeconform(text, manifests);
    assert.deepEqual(renderedConfig(manifests)['metrics_generator'], {
      storage: { path: '/tmp/tempo', remote_write: [{ url }] },
      traces_storage: { path: '/tmp/traces' },
    });
  });

  it('passes extraArgs as Tempo-style flags and leaves out the port of a receiver that is off', () => {
    const { text, manifests } = render([], ['tempo.extraArgs.config\\.expand-env=true', 'tempo.receivers.otlp.protocols.http=null']);
    kubeconform(text, manifests);
    const c = container(manifests);
    assert.deepEqual(c.args, ['-config.file=/conf/tempo.yaml', '-config.expand-env=true']);
    assert.deepEqual(
      c.ports.map((p) => p.name),
      ['prom-metrics', 'otlp-grpc'],
    );
    const svc = find(manifests, 'Service');
    assert.deepEqual(
      (svc.spec!['ports'] as Array<{ name: string }>).map((p) => p.name),
      ['tempo-prom-metrics', 'grpc-tempo-otlp'],
    );
    const receivers = renderedConfig(manifests)['distributor'] as { receivers: { otlp: { protocols: Obj } } };
    assert.deepEqual(Object.keys(receivers.receivers.otlp.protocols), ['grpc']);
  });

  it('gives each pod a PersistentVolumeClaim at /var/tempo when persistence is enabled', () => {
    const { text, manifests } = render([], ['persistence.enabled=true', 'persistence.size=20Gi']);
    kubeconform(text, manifests);
    const sts = find(manifests, 'StatefulSet');
    const claims = sts.spec?.['volumeClaimTemplates'] as Array<{ metadata: { name: string }; spec: { resources: { requests: { storage: string } } } }>;
    assert.deepEqual(
      claims.map((c) => [c.metadata.name, c.spec.resources.requests.storage]),
      [['storage', '20Gi']],
    );
    const volumes = (podSpec(manifests)['volumes'] as Array<{ name: string }>).map((v) => v.name).sort();
    assert.deepEqual(volumes, ['tempo-conf', 'tmp']);
  });

  describe('NetworkPolicy', () => {
    interface Rule {
      ports: Array<{ port: number; protocol: string }>;
      from?: Obj[];
    }

    it('is off by default and, when enabled, admits only pods inside the cluster on the three ports', () => {
      assert.equal(
        render([teamValues]).manifests.some((m) => m.kind === 'NetworkPolicy'),
        false,
      );
      const { text, manifests } = render([teamValues], ['networkPolicy.enabled=true']);
      kubeconform(text, manifests);
      const np = find(manifests, 'NetworkPolicy');
      assert.deepEqual(np.spec?.['policyTypes'], ['Ingress']);
      assert.deepEqual((np.spec!['podSelector'] as { matchLabels: Obj }).matchLabels, {
        'app.kubernetes.io/name': 'rubato',
        'app.kubernetes.io/instance': 'tempo',
      });
      const rules = np.spec?.['ingress'] as Rule[];
      assert.equal(rules.length, 1);
      const rule = rules[0] as Rule;
      assert.deepEqual(
        rule.ports.map((p) => p.port),
        [3100, 4317, 4318],
      );
      // Peers are pod/namespace selectors only: no ipBlock, so no address outside the cluster matches.
      assert.deepEqual(rule.from, [{ namespaceSelector: {}, podSelector: {} }]);
    });

    it('narrows clients by namespace and pod selectors, and admits any source only with allowExternal', () => {
      const { text, manifests } = render(
        [teamValues],
        [
          'networkPolicy.enabled=true',
          'networkPolicy.explicitNamespacesSelector.matchLabels.tracing=enabled',
          'networkPolicy.clientPodSelector.matchLabels.role=tracing-client',
          'networkPolicy.extraFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=prometheus',
        ],
      );
      kubeconform(text, manifests);
      const rule = (find(manifests, 'NetworkPolicy').spec!['ingress'] as Rule[])[0] as Rule;
      assert.deepEqual(rule.from, [
        { namespaceSelector: { matchLabels: { tracing: 'enabled' } }, podSelector: { matchLabels: { role: 'tracing-client' } } },
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'prometheus' } } },
      ]);

      const open = render([], ['networkPolicy.enabled=true', 'networkPolicy.allowExternal=true']);
      const openRule = (find(open.manifests, 'NetworkPolicy').spec!['ingress'] as Rule[])[0] as Rule;
      assert.equal(openRule.from, undefined);
    });

    it('limits egress to DNS and the listed destinations when egress is enabled', () => {
      const { text, manifests } = render(
        [],
        [
          'networkPolicy.enabled=true',
          'networkPolicy.egress.enabled=true',
          'networkPolicy.egress.ports[0].port=9090',
          'networkPolicy.egress.ports[0].protocol=TCP',
        ],
      );
      kubeconform(text, manifests);
      const np = find(manifests, 'NetworkPolicy');
      assert.deepEqual(np.spec?.['policyTypes'], ['Ingress', 'Egress']);
      assert.deepEqual(np.spec?.['egress'], [
        {
          ports: [
            { port: 53, protocol: 'UDP' },
            { port: 53, protocol: 'TCP' },
          ],
        },
        { ports: [{ port: 9090, protocol: 'TCP' }] },
      ]);
    });
  });

  describe('the rendered config starts rubato', () => {
    interface Local {
      file: string;
      httpPort: number;
      otlpHttpPort: number;
      varTempo: string;
      tmp: string;
    }

    /**
     * Points the rendered config's listeners at free loopback ports and /var/tempo and /tmp into `dir`
     * (as the pod's two writable volumes), keeping the rest of the file as rendered.
     */
    async function localise(config: Obj, overridesYaml: string, dir: string): Promise<Local> {
      const c = structuredClone(config) as {
        server: Obj;
        distributor: { receivers: { otlp: { protocols: { grpc: Obj; http: Obj } } } };
        storage: { trace: { local: { path: string }; wal: { path: string } } };
        overrides: Obj;
        metrics_generator?: { storage: { path: string }; traces_storage: { path: string } };
      };
      const varTempo = join(dir, 'var-tempo');
      const tmp = join(dir, 'tmp');
      const under = (path: string, from: string, to: string): string => {
        assert.ok(path.startsWith(`${from}/`), `${path} is under ${from}, a volume the chart mounts`);
        return join(to, path.slice(from.length + 1));
      };
      const [httpPort, grpcPort, otlpHttpPort] = [await freePort(), await freePort(), await freePort()];
      c.server['http_listen_address'] = '127.0.0.1';
      c.server['http_listen_port'] = httpPort;
      c.distributor.receivers.otlp.protocols.grpc['endpoint'] = `127.0.0.1:${grpcPort}`;
      c.distributor.receivers.otlp.protocols.http['endpoint'] = `127.0.0.1:${otlpHttpPort}`;
      c.storage.trace.local.path = under(c.storage.trace.local.path, '/var/tempo', varTempo);
      c.storage.trace.wal.path = under(c.storage.trace.wal.path, '/var/tempo', varTempo);
      if (c.metrics_generator !== undefined) {
        c.metrics_generator.storage.path = under(c.metrics_generator.storage.path, '/tmp', tmp);
        c.metrics_generator.traces_storage.path = under(c.metrics_generator.traces_storage.path, '/tmp', tmp);
      }
      writeFileSync(join(dir, 'overrides.yaml'), overridesYaml);
      c.overrides['per_tenant_override_config'] = join(dir, 'overrides.yaml');
      const file = join(dir, 'tempo.yaml');
      writeFileSync(file, stringify(c));
      return { file, httpPort, otlpHttpPort, varTempo, tmp };
    }

    /**
     * Starts rubato on the rendered config as the chart's container does (`-config.file=`, the image's
     * node flags), runs `check` once it is ready, and stops it. With `asImageUser` it runs as the
     * image's uid 10001 from a folder it cannot write, with only the two volumes writable: the
     * nearest thing to the pod's read-only root filesystem that needs no container runtime.
     */
    async function runWith(set: readonly string[], opts: { asImageUser?: boolean }, check: (url: string, local: Local) => Promise<void>): Promise<string> {
      const { manifests } = render([teamValues], set);
      const dir = join(work, `run-${Date.now()}`);
      mkdirSync(dir, { recursive: true });
      const local = await localise(renderedConfig(manifests), find(manifests, 'ConfigMap').data?.['overrides.yaml'] ?? '', dir);
      mkdirSync(local.varTempo, { recursive: true });
      mkdirSync(local.tmp, { recursive: true });
      const node = [process.execPath, '--max-semi-space-size=2', join(projectRoot, 'dist', 'src', 'main.js'), `-config.file=${local.file}`];
      let command = node;
      if (opts.asImageUser === true) {
        for (const d of [work, dir]) chmodSync(d, 0o755);
        for (const d of [local.varTempo, local.tmp]) chownSync(d, 10001, 10001);
        command = ['setpriv', '--reuid=10001', '--regid=10001', '--clear-groups', ...node];
      }
      const proc = spawn(command[0] as string, command.slice(1), {
        cwd: dir,
        env: { ...process.env, HOME: local.tmp, TMPDIR: local.tmp },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
      proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
      const url = `http://127.0.0.1:${local.httpPort}`;
      try {
        const deadline = Date.now() + 30_000;
        let status = 0;
        while (status !== 200) {
          if (proc.exitCode !== null) assert.fail(`rubato exited with ${proc.exitCode}:\n${out}`);
          if (Date.now() > deadline) assert.fail(`rubato not ready after 30 s:\n${out}`);
          status = await fetch(`${url}/ready`).then(
            (r) => r.status,
            () => 0,
          );
          if (status !== 200) await new Promise((r) => setTimeout(r, 100));
        }
        const config = await (await fetch(`${url}/status/config`)).text();
        assert.match(config, /block_retention: 72h/);
        await check(url, local);
        return out;
      } finally {
        if (proc.exitCode === null) {
          proc.kill('SIGTERM');
          await exited;
        }
      }
    }

    it('with the team values', async () => {
      const out = await runWith([], {}, async () => {});
      assert.match(out, /rubato started/);
      assert.doesNotMatch(out, /level=error|unknown/i);
    });

    it('with the metrics generator enabled', async () => {
      const out = await runWith(
        ['tempo.metricsGenerator.enabled=true', 'tempo.metricsGenerator.remoteWriteUrl=http://127.0.0.1:9/api/v1/write'],
        {},
        async () => {},
      );
      assert.match(out, /rubato started/);
      assert.doesNotMatch(out, /level=error|unknown/i);
    });

    const canSwitchUser = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0;
    it('as the image user, writing only to /var/tempo and /tmp: ingests, flushes a block, serves the trace', {
      skip: canSwitchUser ? false : 'needs root and setpriv to run as uid 10001',
    }, async () => {
      const traceId = randomBytes(16).toString('hex');
      const now = BigInt(Date.now()) * 1_000_000n;
      const out = await runWith([], { asImageUser: true }, async (url, local) => {
        const body = {
          resourceSpans: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: 'chart-test' } }] },
              scopeSpans: [
                {
                  spans: [
                    {
                      traceId,
                      spanId: randomBytes(8).toString('hex'),
                      name: 'GET /',
                      kind: 2,
                      startTimeUnixNano: String(now - 5_000_000n),
                      endTimeUnixNano: String(now),
                    },
                  ],
                },
              ],
            },
          ],
        };
        const push = await fetch(`http://127.0.0.1:${local.otlpHttpPort}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        assert.equal(push.status, 200, await push.text());
        const flush = await fetch(`${url}/flush`, { method: 'POST' });
        assert.equal(flush.status, 204);
        const blocks = join(local.varTempo, 'traces', 'single-tenant');
        assert.ok(
          readdirSync(blocks).some((b) => existsSync(join(blocks, b, 'meta.json'))),
          'a block with meta.json under /var/tempo/traces',
        );
        const trace = await fetch(`${url}/api/traces/${traceId}`);
        assert.equal(trace.status, 200);
        assert.match(await trace.text(), /chart-test/);
      });
      assert.doesNotMatch(out, /level=error|EACCES|EROFS/);
    });
  });

  describe('distributed mode', () => {
    /** The least a distributed render needs: blocks in a bucket, the ring in an existing etcd. */
    const s3 = [
      'mode=distributed',
      'tempo.storage.trace.backend=s3',
      'tempo.storage.trace.s3.bucket=tempo-traces',
      'tempo.storage.trace.s3.endpoint=minio.storage:9000',
      'tempo.storage.trace.s3.forcepathstyle=true',
    ];
    const etcd = [
      'etcd.endpoints[0]=etcd-0.etcd.infra.svc:2379',
      'etcd.endpoints[1]=etcd-1.etcd.infra.svc:2379',
      'etcd.endpoints[2]=etcd-2.etcd.infra.svc:2379',
    ];
    const base = [...s3, ...etcd];
    /** Every optional object on: generator, embedded etcd, ServiceMonitors, NetworkPolicies with egress. */
    const everything = [
      ...s3,
      'etcd.embedded.enabled=true',
      'tempo.metricsGenerator.enabled=true',
      'serviceMonitor.enabled=true',
      'networkPolicy.enabled=true',
      'networkPolicy.egress.enabled=true',
      'networkPolicy.egress.ports[0].port=9000',
      'networkPolicy.egress.ports[0].protocol=TCP',
    ];
    const stateless = ['distributor', 'querier', 'query-frontend', 'compactor'];

    function named(manifests: readonly Manifest[], kind: string, name: string): Manifest {
      const m = manifests.find((x) => x.kind === kind && x.metadata.name === name);
      assert.ok(m, `no ${kind} ${name}; rendered: ${manifests.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
      return m;
    }
    function podOf(m: Manifest): Obj {
      return (m.spec!['template'] as { spec: Obj }).spec;
    }
    function containerOf(m: Manifest): Container {
      const containers = podOf(m)['containers'] as Container[];
      assert.equal(containers.length, 1);
      return containers[0] as Container;
    }
    interface Port {
      name: string;
      port: number;
      targetPort: string;
    }
    const ports = (m: Manifest): Array<[string, number, string]> => (m.spec!['ports'] as Port[]).map((p) => [p.name, p.port, p.targetPort]);
    const names = (manifests: readonly Manifest[]): string[] => manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort();

    /** helm template's failure text (the chart's `fail` message), or assert.fail when it renders. */
    function renderError(set: readonly string[], valuesFiles: readonly string[] = []): string {
      try {
        render(valuesFiles, set);
      } catch (err) {
        return (err as Error).message;
      }
      return assert.fail(`rendered with ${set.join(' ')}`);
    }

    it('renders a workload per component that kubeconform -strict accepts, with every option on', () => {
      const { text, manifests } = render([], everything);
      kubeconform(text, manifests);
      run('helm', ['lint', '--strict', chartDir, ...everything.flatMap((s) => ['--set', s])], { env: helmEnv() });
      assert.deepEqual(names(manifests), [
        'ConfigMap/tempo',
        'Deployment/tempo-compactor',
        'Deployment/tempo-distributor',
        'Deployment/tempo-metrics-generator',
        'Deployment/tempo-querier',
        'Deployment/tempo-query-frontend',
        'NetworkPolicy/tempo',
        'NetworkPolicy/tempo-distributor',
        'NetworkPolicy/tempo-etcd',
        'PodDisruptionBudget/tempo-etcd',
        'PodDisruptionBudget/tempo-ingester',
        'Service/tempo',
        'Service/tempo-compactor',
        'Service/tempo-distributor',
        'Service/tempo-etcd',
        'Service/tempo-ingester',
        'Service/tempo-metrics-generator',
        'Service/tempo-querier',
        'Service/tempo-query-frontend',
        'Service/tempo-query-frontend-discovery',
        'ServiceAccount/tempo',
        'ServiceMonitor/tempo-compactor',
        'ServiceMonitor/tempo-distributor',
        'ServiceMonitor/tempo-ingester',
        'ServiceMonitor/tempo-metrics-generator',
        'ServiceMonitor/tempo-querier',
        'ServiceMonitor/tempo-query-frontend',
        'StatefulSet/tempo-etcd',
        'StatefulSet/tempo-ingester',
      ]);
      // The team values (their image, resources, env, /var/tempo mount) render in distributed mode too.
      const team = render([teamValues], base);
      kubeconform(team.text, team.manifests);
    });

    it('runs every component from the one ConfigMap with -target=<component>, tempo.extraArgs and its own', () => {
      const { manifests } = render(
        [],
        [
          ...base,
          'tempo.metricsGenerator.enabled=true',
          'tempo.extraArgs.config\\.expand-env=true',
          'querier.extraArgs.log\\.level=debug',
          'querier.replicas=5',
          'querier.resources.requests.memory=1Gi',
          'querier.nodeSelector.pool=query',
          'querier.tolerations[0].key=query',
          'querier.tolerations[0].operator=Exists',
          'distributor.replicas=4',
        ],
      );
      const workloads = manifests.filter((m) => m.kind === 'Deployment' || m.kind === 'StatefulSet');
      assert.deepEqual(workloads.map((m) => `${m.kind}/${m.metadata.name}`).sort(), [
        'Deployment/tempo-compactor',
        'Deployment/tempo-distributor',
        'Deployment/tempo-metrics-generator',
        'Deployment/tempo-querier',
        'Deployment/tempo-query-frontend',
        'StatefulSet/tempo-ingester',
      ]);
      for (const m of workloads) {
        const component = m.metadata.labels?.['app.kubernetes.io/component'] ?? '';
        assert.equal(m.metadata.name, `tempo-${component}`);
        const c = containerOf(m);
        assert.equal(c.args[0], '-config.file=/conf/tempo.yaml');
        assert.equal(c.args[1], `-target=${component}`);
        assert.ok(c.args.includes('-config.expand-env=true'), `${component} gets tempo.extraArgs`);
        assert.equal(c.args.includes('-log.level=debug'), component === 'querier', `${component}: querier.extraArgs only on queriers`);
        const volumes = podOf(m)['volumes'] as Array<{ name: string; configMap?: { name: string } }>;
        assert.equal(volumes.find((v) => v.name === 'tempo-conf')?.configMap?.name, 'tempo');
        assert.deepEqual(
          c.ports.slice(0, 2).map((p) => [p.name, p.containerPort]),
          [
            ['http-metrics', 3100],
            ['grpc', 9095],
          ],
        );
        assert.deepEqual(c.readinessProbe.httpGet, { path: '/ready', port: 'http-metrics' });
        assert.equal(c.securityContext['readOnlyRootFilesystem'], true);
        const selector = (m.spec!['selector'] as { matchLabels: Record<string, string> }).matchLabels;
        assert.equal(selector['app.kubernetes.io/component'], component);
      }
      const distributor = named(manifests, 'Deployment', 'tempo-distributor');
      assert.equal(distributor.spec?.['replicas'], 4);
      assert.deepEqual(
        containerOf(distributor).ports.map((p) => p.name),
        ['http-metrics', 'grpc', 'otlp-grpc', 'otlp-http'],
      );
      const querier = named(manifests, 'Deployment', 'tempo-querier');
      assert.equal(querier.spec?.['replicas'], 5);
      assert.deepEqual(containerOf(querier).resources, { requests: { memory: '1Gi' } });
      assert.deepEqual(podOf(querier)['nodeSelector'], { pool: 'query' });
      assert.deepEqual(podOf(querier)['tolerations'], [{ key: 'query', operator: 'Exists' }]);
      assert.equal(podOf(named(manifests, 'Deployment', 'tempo-compactor'))['nodeSelector'], undefined);

      const off = render([], base).manifests;
      assert.equal(
        off.some((m) => m.metadata.name === 'tempo-metrics-generator'),
        false,
        'no generator workload while tempo.metricsGenerator.enabled is false',
      );
    });

    it('keeps ingesters in a StatefulSet: a WAL claim each, time to flush, spread over zones, one down at a time, a headless ring service', () => {
      const { manifests } = render([], [...base, 'ingester.persistence.size=50Gi', 'ingester.persistence.storageClassName=fast']);
      const sts = named(manifests, 'StatefulSet', 'tempo-ingester');
      assert.equal(sts.spec?.['replicas'], 3);
      assert.equal(sts.spec?.['serviceName'], 'tempo-ingester');
      const claims = sts.spec?.['volumeClaimTemplates'] as Array<{
        metadata: { name: string };
        spec: { storageClassName: string; resources: { requests: { storage: string } } };
      }>;
      assert.deepEqual(
        claims.map((c) => [c.metadata.name, c.spec.storageClassName, c.spec.resources.requests.storage]),
        [['storage', 'fast', '50Gi']],
      );
      const c = containerOf(sts);
      assert.equal(c.volumeMounts.find((m) => m.mountPath === '/var/tempo')?.name, 'storage');
      const pod = podOf(sts);
      assert.equal(
        (pod['volumes'] as Array<{ name: string }>).some((v) => v.name === 'storage'),
        false,
        'the claim, not an emptyDir',
      );
      assert.equal(pod['terminationGracePeriodSeconds'], 300);
      assert.deepEqual(pod['topologySpreadConstraints'], [
        {
          maxSkew: 1,
          topologyKey: 'topology.kubernetes.io/zone',
          whenUnsatisfiable: 'ScheduleAnyway',
          labelSelector: {
            matchLabels: { 'app.kubernetes.io/component': 'ingester', 'app.kubernetes.io/instance': 'tempo', 'app.kubernetes.io/name': 'rubato' },
          },
        },
      ]);

      const pdb = named(manifests, 'PodDisruptionBudget', 'tempo-ingester');
      assert.equal(pdb.spec?.['maxUnavailable'], 1);
      assert.deepEqual(pdb.spec?.['selector'], (sts.spec as { selector: unknown }).selector);

      const headless = named(manifests, 'Service', 'tempo-ingester');
      assert.equal(headless.spec?.['clusterIP'], 'None');
      assert.equal(headless.spec?.['publishNotReadyAddresses'], true);
      assert.deepEqual(ports(headless), [
        ['http-metrics', 3100, 'http-metrics'],
        ['grpc', 9095, 'grpc'],
      ]);
      assert.deepEqual(headless.spec?.['selector'], (sts.spec as { selector: { matchLabels: unknown } }).selector.matchLabels);
    });

    it('sends apps to the distributors (OTLP 4317/4318) and Grafana to the query-frontend (3100); queriers find every frontend through a headless service', () => {
      const { manifests } = render([], base);
      const distributor = named(manifests, 'Service', 'tempo-distributor');
      assert.deepEqual(ports(distributor), [
        ['http-metrics', 3100, 'http-metrics'],
        ['grpc', 9095, 'grpc'],
        ['grpc-tempo-otlp', 4317, 'otlp-grpc'],
        ['tempo-otlp-http', 4318, 'otlp-http'],
      ]);
      const frontend = named(manifests, 'Service', 'tempo-query-frontend');
      assert.equal(frontend.spec?.['type'], 'ClusterIP');
      assert.deepEqual(ports(frontend)[0], ['http-metrics', 3100, 'http-metrics']);
      assert.equal((frontend.spec!['selector'] as Record<string, string>)['app.kubernetes.io/component'], 'query-frontend');

      const discovery = named(manifests, 'Service', 'tempo-query-frontend-discovery');
      assert.equal(discovery.spec?.['clusterIP'], 'None');
      assert.equal(discovery.spec?.['publishNotReadyAddresses'], true);
      assert.deepEqual(ports(discovery), [['grpc', 9095, 'grpc']]);

      // The release-named service apps already send to keeps its OTLP ports, now on the distributors.
      const release = named(manifests, 'Service', 'tempo');
      assert.deepEqual(ports(release), [
        ['grpc-tempo-otlp', 4317, 'otlp-grpc'],
        ['tempo-otlp-http', 4318, 'otlp-http'],
      ]);
      assert.equal((release.spec!['selector'] as Record<string, string>)['app.kubernetes.io/component'], 'distributor');
      assert.equal(
        render([], [...base, 'distributedReleaseService=false']).manifests.some((m) => m.kind === 'Service' && m.metadata.name === 'tempo'),
        false,
      );
    });

    it('renders the ring (etcd, replication_factor), the gRPC port and the frontend address into the config, under the config value', () => {
      const { manifests } = render(
        [teamValues],
        [...base, 'ring.replicationFactor=3', 'tempo.ingester.trace_idle_period=5s', 'tempo.ingester.lifecycler.ring.heartbeat_timeout=2m'],
      );
      const config = renderedConfig(manifests) as {
        ingester: {
          trace_idle_period: string;
          lifecycler: { ring: { kvstore: Obj; replication_factor: number; heartbeat_timeout: string }; num_tokens: number; heartbeat_period: string };
        };
        distributor: { ring: { kvstore: Obj }; receivers: Obj };
        compactor: { ring: { kvstore: Obj }; compaction: Obj };
        querier: { frontend_worker: { frontend_address: string } };
        server: { grpc_listen_port: number; http_listen_port: number };
        storage: { trace: { backend: string; s3: { bucket: string } } };
        metrics_generator?: Obj;
      };
      const kvstore = {
        store: 'etcd',
        prefix: 'collectors/',
        etcd: { endpoints: ['etcd-0.etcd.infra.svc:2379', 'etcd-1.etcd.infra.svc:2379', 'etcd-2.etcd.infra.svc:2379'], dial_timeout: '10s' },
      };
      const lifecycler = config.ingester.lifecycler;
      assert.deepEqual(lifecycler.ring.kvstore, kvstore);
      assert.equal(lifecycler.ring.replication_factor, 3);
      assert.equal(lifecycler.ring.heartbeat_timeout, '2m', 'a key set in the config value wins over the chart');
      assert.equal(lifecycler.num_tokens, 128);
      assert.equal(lifecycler.heartbeat_period, '5s');
      assert.equal(config.ingester.trace_idle_period, '5s');
      assert.deepEqual(config.distributor.ring.kvstore, kvstore);
      assert.deepEqual(config.compactor.ring.kvstore, kvstore);
      assert.equal(config.compactor.compaction['block_retention'], '72h', 'the rest of the team config is kept');
      assert.ok(config.distributor.receivers['otlp']);
      assert.equal(config.querier.frontend_worker.frontend_address, 'tempo-query-frontend-discovery.tempo.svc:9095');
      assert.deepEqual(config.server, { grpc_listen_port: 9095, http_listen_port: 3100 });
      assert.equal(config.storage.trace.backend, 's3');
      assert.equal(config.storage.trace.s3.bucket, 'tempo-traces');
      assert.equal(config.metrics_generator, undefined);

      // The embedded etcd's members become the endpoints; the generator joins its own ring.
      const embedded = renderedConfig(
        render([], [...s3, 'etcd.embedded.enabled=true', 'tempo.metricsGenerator.enabled=true', 'ring.replicationFactor=2']).manifests,
      ) as typeof config & {
        metrics_generator: { ring: { kvstore: Obj } };
      };
      const members = ['tempo-etcd-0.tempo-etcd.tempo.svc:2379', 'tempo-etcd-1.tempo-etcd.tempo.svc:2379', 'tempo-etcd-2.tempo-etcd.tempo.svc:2379'];
      assert.deepEqual((embedded.ingester.lifecycler.ring.kvstore as { etcd: { endpoints: string[] } }).etcd.endpoints, members);
      assert.equal(embedded.ingester.lifecycler.ring.replication_factor, 2);
      assert.deepEqual((embedded.metrics_generator.ring.kvstore as { etcd: { endpoints: string[] } }).etcd.endpoints, members);
    });

    it("runs the embedded etcd as a 3-member cluster that compacts the ring key's old revisions", () => {
      const { manifests } = render([], [...s3, 'etcd.embedded.enabled=true']);
      const sts = named(manifests, 'StatefulSet', 'tempo-etcd');
      assert.equal(sts.spec?.['replicas'], 3);
      assert.equal(sts.spec?.['podManagementPolicy'], 'Parallel');
      const command = (containerOf(sts) as Container & { command: string[] }).command;
      assert.ok(
        command.includes(
          '--initial-cluster=tempo-etcd-0=http://tempo-etcd-0.tempo-etcd.tempo.svc:2380,tempo-etcd-1=http://tempo-etcd-1.tempo-etcd.tempo.svc:2380,tempo-etcd-2=http://tempo-etcd-2.tempo-etcd.tempo.svc:2380',
        ),
        command.join(' '),
      );
      // Each heartbeat rewrites the ring key: without compaction the revisions fill etcd's quota.
      assert.ok(command.includes('--auto-compaction-mode=periodic'));
      assert.ok(command.includes('--auto-compaction-retention=5m'));
      const svc = named(manifests, 'Service', 'tempo-etcd');
      assert.equal(svc.spec?.['clusterIP'], 'None');
      assert.equal(svc.spec?.['publishNotReadyAddresses'], true);
      assert.equal(named(manifests, 'PodDisruptionBudget', 'tempo-etcd').spec?.['maxUnavailable'], 1);
    });

    it('renders a config that rubato loads for every -target (-config.verify)', () => {
      const { manifests } = render([], [...everything]);
      const file = join(work, 'distributed-tempo.yaml');
      writeFileSync(file, find(manifests, 'ConfigMap').data?.['tempo.yaml'] ?? '');
      for (const target of [...stateless, 'ingester', 'metrics-generator']) {
        const res = spawnSync(process.execPath, [join(projectRoot, 'dist', 'src', 'main.js'), `-config.file=${file}`, `-target=${target}`, '-config.verify'], {
          encoding: 'utf8',
        });
        assert.equal(res.status, 0, `${target}: ${res.stderr}`);
        assert.match(res.stdout, /config OK/);
        assert.doesNotMatch(res.stderr, /unknown or unsupported config keys/, "every key the chart writes is one of Tempo's");
      }
    });

    it('refuses, with the reason, what cannot work: local storage, no bucket, no etcd, fewer ingesters than replicas, an unknown mode', () => {
      assert.match(
        renderError(['mode=distributed', ...etcd]),
        /mode: distributed needs shared object storage: set tempo\.storage\.trace\.backend to s3.*"local"/,
      );
      assert.match(renderError(['mode=distributed'], [teamValues]), /needs shared object storage/);
      assert.match(renderError(['mode=distributed', 'tempo.storage.trace.backend=s3', ...etcd]), /needs tempo\.storage\.trace\.s3\.bucket/);
      assert.match(renderError(s3), /keeps the ingester ring in etcd: set etcd\.endpoints .* or etcd\.embedded\.enabled=true/);
      assert.match(renderError([...base, 'ingester.replicas=2']), /ingester\.replicas \(2\) is below ring\.replicationFactor \(3\)/);
      assert.match(renderError(['mode=cluster']), /mode must be "single" or "distributed", not "cluster"/);
      // mode=single is the default and renders exactly what no mode renders.
      assert.equal(render([teamValues], ['mode=single']).text, render([teamValues]).text);
    });

    it('scrapes each component once with its own ServiceMonitor', () => {
      const { manifests } = render([teamValues], [...base, 'tempo.metricsGenerator.enabled=true']);
      const monitors = manifests.filter((m) => m.kind === 'ServiceMonitor');
      const services = manifests.filter((m) => m.kind === 'Service');
      const components = [...stateless.slice(0, 1), 'ingester', ...stateless.slice(1), 'metrics-generator'];
      assert.deepEqual(
        monitors.map((m) => m.metadata.name),
        components.map((c) => `tempo-${c}`),
      );
      for (const sm of monitors) {
        assert.equal(sm.metadata.labels?.['release'], 'prometheus', 'serviceMonitor.additionalLabels');
        assert.deepEqual(
          (sm.spec!['endpoints'] as Array<{ port: string; path: string }>).map((e) => [e.port, e.path]),
          [['http-metrics', '/metrics']],
        );
        // The services this monitor selects, applying matchLabels and the NotIn expression as Prometheus Operator does.
        const selector = sm.spec!['selector'] as {
          matchLabels: Record<string, string>;
          matchExpressions: Array<{ key: string; operator: string; values: string[] }>;
        };
        const selected = services.filter(
          (svc) =>
            Object.entries(selector.matchLabels).every(([k, v]) => svc.metadata.labels?.[k] === v) &&
            selector.matchExpressions.every((e) => e.operator === 'NotIn' && !e.values.includes(svc.metadata.labels?.[e.key] ?? '')),
        );
        assert.deepEqual(
          selected.map((s) => s.metadata.name),
          [sm.metadata.name],
          `${sm.metadata.name} selects only its component's service`,
        );
      }
    });

    it('NetworkPolicies: OTLP only on distributors, the HTTP port to cluster clients, gRPC and etcd only within the release', () => {
      interface Rule {
        ports: Array<{ port: number }>;
        from?: Obj[];
        to?: Obj[];
      }
      const { manifests } = render([], everything);
      const releasePods = { podSelector: { matchLabels: { 'app.kubernetes.io/instance': 'tempo', 'app.kubernetes.io/name': 'rubato' } } };
      const clients = { namespaceSelector: {}, podSelector: {} };

      const all = named(manifests, 'NetworkPolicy', 'tempo');
      const ingress = all.spec?.['ingress'] as Rule[];
      assert.deepEqual(
        ingress.map((r) => [r.ports.map((p) => p.port), r.from]),
        [
          [[3100], [clients]],
          [[3100, 9095], [releasePods]],
        ],
      );
      const egress = all.spec?.['egress'] as Rule[];
      assert.deepEqual(
        egress.map((r) => [r.ports.map((p) => p.port), r.to]),
        [
          [[53, 53], undefined],
          [[3100, 9095, 2379], [releasePods]],
          [[9000], undefined],
        ],
      );

      const distributor = named(manifests, 'NetworkPolicy', 'tempo-distributor');
      assert.deepEqual((distributor.spec!['podSelector'] as { matchLabels: Obj }).matchLabels['app.kubernetes.io/component'], 'distributor');
      assert.deepEqual(
        (distributor.spec!['ingress'] as Rule[]).map((r) => [r.ports.map((p) => p.port), r.from]),
        [[[4317, 4318], [clients]]],
      );

      const etcdPolicy = named(manifests, 'NetworkPolicy', 'tempo-etcd');
      assert.deepEqual(
        (etcdPolicy.spec!['ingress'] as Rule[]).map((r) => r.ports.map((p) => p.port)),
        [[2379], [2380]],
      );
      assert.deepEqual((etcdPolicy.spec!['ingress'] as Rule[])[0]?.from, [releasePods]);
    });
  });
});
