import type { FastifyInstance } from 'fastify';
import { registry } from '../metrics/registry.js';

export interface BuildInfo {
  readonly version: string;
  readonly revision: string;
  readonly branch: string;
  readonly buildDate: string;
}

export interface OpsDeps {
  /** True once every module is serving (WAL replayed). */
  readonly isReady: () => boolean;
  /** The effective config as YAML. */
  readonly configYaml: () => string;
  /** Cuts live traces and head blocks and writes them to the backend. */
  readonly flush: () => Promise<void>;
  readonly buildInfo: BuildInfo;
  /** Module name → state, for /status/services. */
  readonly services: () => Record<string, string>;
}

/** /ready, /metrics, /flush, /status/*, /api/echo: what operators and Kubernetes probes call. */
export function registerOpsRoutes(app: FastifyInstance, deps: OpsDeps): void {
  app.get('/ready', async (_req, reply) => {
    if (deps.isReady()) return reply.type('text/plain').send('ready');
    return reply.code(503).type('text/plain').send('Ingester not ready: waiting for WAL replay to finish');
  });
  app.get('/metrics', async (_req, reply) => {
    const body = await registry.metrics();
    return reply.type(registry.contentType).send(body);
  });
  const flush = async (_req: unknown, reply: { code(n: number): { send(s: string): unknown } }) => {
    await deps.flush();
    return reply.code(204).send('');
  };
  app.get('/flush', flush);
  app.post('/flush', flush);
  app.get('/api/echo', async (_req, reply) => reply.type('text/plain').send('echo'));
  const buildInfo = async () => ({ ...deps.buildInfo, buildUser: '', goVersion: `node ${process.version}` });
  app.get('/status/buildinfo', buildInfo);
  // Grafana's Tempo data source asks here to learn which features the backend has.
  app.get('/api/status/buildinfo', buildInfo);
  app.get('/status/config', async (_req, reply) => reply.type('text/plain; charset=utf-8').send(deps.configYaml()));
  app.get('/status/services', async (_req, reply) => {
    const lines = Object.entries(deps.services()).map(([name, state]) => `${name}: ${state}`);
    return reply.type('text/plain').send(lines.join('\n') + '\n');
  });
  app.get('/status/version', async () => ({ version: deps.buildInfo.version, revision: deps.buildInfo.revision }));
  app.get('/status', async (_req, reply) => reply.type('text/plain').send('/status/buildinfo\n/status/config\n/status/services\n/status/version\n'));
}
