/**
 * A real Prometheus (Debian's `prometheus` package) for the metrics-generator tests: started on a
 * loopback port with a temp config, the remote-write receiver and exemplar storage on, queried over
 * its HTTP API. Never a stand-in: when the binary is missing the tests say so.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PROMETHEUS_BIN = process.env['PROMETHEUS_BIN'] ?? 'prometheus';

export function prometheusAvailable(): boolean {
  return spawnSync(PROMETHEUS_BIN, ['--version']).status === 0;
}

export interface ScrapeJob {
  readonly job: string;
  readonly target: string;
  readonly path: string;
}

export interface PrometheusProcess {
  readonly url: string;
  readonly proc: ChildProcess;
  output(): string;
  /** Instant query; the result vector as [labels, value]. */
  query(q: string): Promise<{ metric: Record<string, string>; value: number }[]>;
  exemplars(
    q: string,
    startS: number,
    endS: number,
  ): Promise<{ seriesLabels: Record<string, string>; exemplars: { labels: Record<string, string>; value: string; timestamp: number }[] }[]>;
  stop(): Promise<void>;
}

export async function startPrometheus(port: number, scrape: readonly ScrapeJob[]): Promise<PrometheusProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'rubato-prom-'));
  const lines = ['global:', '  scrape_interval: 1s', '  evaluation_interval: 1s', 'scrape_configs:'];
  for (const j of scrape) {
    lines.push(`  - job_name: ${j.job}`, `    metrics_path: ${j.path}`, '    honor_labels: true', '    static_configs:', `      - targets: ['${j.target}']`);
  }
  if (scrape.length === 0) lines.push('  []');
  writeFileSync(join(dir, 'prometheus.yml'), lines.join('\n') + '\n');
  const proc = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      '--enable-feature=exemplar-storage',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`prometheus exited with ${proc.exitCode}:\n${out}`);
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`prometheus not ready after 30 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const api = async (path: string, params: Record<string, string>): Promise<unknown> => {
    const r = await fetch(`${url}${path}?${new URLSearchParams(params).toString()}`);
    const body = (await r.json()) as { status: string; data: unknown; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path} ${JSON.stringify(params)}: ${body.error ?? r.status}`);
    return body.data;
  };
  return {
    url,
    proc,
    output: () => out,
    async query(q) {
      const data = (await api('/api/v1/query', { query: q })) as { result: { metric: Record<string, string>; value: [number, string] }[] };
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async exemplars(q, startS, endS) {
      return (await api('/api/v1/query_exemplars', { query: q, start: String(startS), end: String(endS) })) as Awaited<
        ReturnType<PrometheusProcess['exemplars']>
      >;
    },
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
