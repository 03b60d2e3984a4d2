/**
 * What the metrics generator costs the ingest path: the ingest benchmark's OTLP/gRPC load (its own
 * driver, `--load-only`) against rubato pinned to one core, with the generator off and then with both
 * processors on, in one run. The two alternate (off, on, off, on, …) so machine noise hits both alike.
 * Prints spans/s and the server's CPU time per span for each, and the drops.
 *
 *   npm run bench:generator-cost -- [--seconds 10] [--rounds 2] [--core 0]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureIngest } from '../lib/server.js';
import { generatorOn, startGeneratorServer } from './server.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const seconds = Number(args.get('seconds') ?? 10);
const rounds = Number(args.get('rounds') ?? 2);
const core = args.get('core') ?? '0';

interface RunResult {
  spansPerSec: number;
  cpuUsPerSpan: number;
}

async function run(name: string, generatorYaml: string[]): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), `rubato-bench-gen-${name}-`));
  const server = await startGeneratorServer(dir, generatorYaml, core);
  try {
    return await measureIngest(server, name, seconds, 14);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`generator cost bench: ${seconds}s per run, ingest driver load, server on core ${core}`);
  const off: RunResult[] = [];
  const on: RunResult[] = [];
  for (let i = 0; i < rounds; i++) {
    off.push(await run('generator off', []));
    // The benchmark's spans carry fixed 2026-01-01 timestamps: the ingestion-slack check is off so every span counts.
    on.push(await run('generator on', generatorOn(['metrics_ingestion_time_range_slack: 0'])));
  }
  // Medians: on a shared machine one disturbed run must not decide the result.
  const mean = (xs: number[]) => {
    const v = [...xs].sort((a, b) => a - b);
    return v.length % 2 === 1 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  };
  const offS = mean(off.map((r) => r.spansPerSec));
  const onS = mean(on.map((r) => r.spansPerSec));
  const offC = mean(off.map((r) => r.cpuUsPerSpan));
  const onC = mean(on.map((r) => r.cpuUsPerSpan));
  console.log(
    `median spans/s: off ${offS.toFixed(0)}, on ${onS.toFixed(0)}: throughput drop ${(((offS - onS) / offS) * 100).toFixed(1)}% (target: at most 15%)`,
  );
  console.log(
    `median server CPU per span: off ${offC.toFixed(2)} µs, on ${onC.toFixed(2)} µs: +${(((onC - offC) / offC) * 100).toFixed(1)}% CPU per span (one core: the throughput a CPU-bound server loses is ${(((onC - offC) / onC) * 100).toFixed(1)}%)`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
