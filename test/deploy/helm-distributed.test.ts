// The chart's distributed mode (`mode: distributed`): one workload per Tempo -target from one config
// file, ingesters in a StatefulSet with their WAL on claims, headless services for the ring and the
// frontend workers, the ring/etcd keys in the config, and a render that refuses what could not work
// (local storage, no etcd). Rendered with helm and checked with kubeconform -strict, as helm.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
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
  skipWithoutHelm,
  teamValues,
  workDir,
} from './helm-chart.js';
import { run } from './tools.js';

describe('helm chart deploy/helm/rubato, distributed mode', { skip: skipWithoutHelm }, () => {
  before(() => {
    openWorkDir();
  });
  after(() => closeWorkDir());
  /** The least a distributed render needs: blocks in a bucket, the ring in an existing etcd. */
  const s3 = [
    'mode=distributed',
    'tempo.storage.trace.backend=s3',
    'tempo.storage.trace.s3.bucket=tempo-traces',
    'tempo.storage.trace.s3.endpoint=minio.storage:9000',
    'tempo.storage.trace.s3.forcepathstyle=true',
  ];
  const etcd = ['etcd.endpoints[0]=etcd-0.etcd.infra.svc:2379', 'etcd.endpoints[1]=etcd-1.etcd.infra.svc:2379', 'etcd.endpoints[2]=etcd-2.etcd.infra.svc:2379'];
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

  // Two targets, not all six: the file is the same for every target and each start costs seconds on a
  // loaded machine.
  it("renders a config that rubato loads (-config.verify) with every key one of Tempo's", () => {
    const { manifests } = render([], [...everything]);
    const file = join(workDir(), 'distributed-tempo.yaml');
    writeFileSync(file, find(manifests, 'ConfigMap').data?.['tempo.yaml'] ?? '');
    for (const target of ['distributor', 'ingester']) {
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
