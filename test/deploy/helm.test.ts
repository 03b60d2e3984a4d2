// The Helm chart (deploy/helm/rubato) against the team's real values file: it must lint, render
// manifests that Kubernetes' own schemas accept (kubeconform, strict), carry what the values ask for
// (image, resources, env, ServiceMonitor, volumes, locked-down pods, an in-cluster-only NetworkPolicy),
// and render a config that the tempo chart would have rendered and that really starts rubato.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { freePort } from '../support/ports.js';
import { projectRoot } from '../support/rubato-process.js';
import {
  chartDir,
  closeWorkDir,
  type Container,
  find,
  helmEnv,
  kubeconform,
  type Manifest,
  type Obj,
  openWorkDir,
  render,
  renderedConfig,
  seedTempoYaml,
  skipWithoutHelm,
  teamValues,
  workDir,
} from './helm-chart.js';
import { run } from './tools.js';

function podSpec(manifests: readonly Manifest[]): Obj {
  const sts = find(manifests, 'StatefulSet');
  const template = sts.spec?.['template'] as { spec: Obj };
  return template.spec;
}

function container(manifests: readonly Manifest[]): Container {
  const containers = podSpec(manifests)['containers'] as Container[];
  assert.equal(containers.length, 1);
  return containers[0] as Container;
}

describe('helm chart deploy/helm/rubato', { skip: skipWithoutHelm }, () => {
  before(() => {
    openWorkDir();
  });
  after(() => closeWorkDir());

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
      const dir = join(workDir(), `run-${Date.now()}`);
      mkdirSync(dir, { recursive: true });
      const local = await localise(renderedConfig(manifests), find(manifests, 'ConfigMap').data?.['overrides.yaml'] ?? '', dir);
      mkdirSync(local.varTempo, { recursive: true });
      mkdirSync(local.tmp, { recursive: true });
      const node = [process.execPath, '--max-semi-space-size=2', join(projectRoot, 'dist', 'src', 'main.js'), `-config.file=${local.file}`];
      let command = node;
      if (opts.asImageUser === true) {
        for (const d of [workDir(), dir]) chmodSync(d, 0o755);
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
});
