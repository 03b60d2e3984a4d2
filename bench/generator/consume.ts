/**
 * The generator's hot path alone, without a server: decoded push batches of the ingest benchmark's
 * traffic fed to `consume` with both processors on. Prints µs per span, to set beside the server's
 * CPU per span that `bench:generator-cost` prints.
 *
 *   npm run bench:generator-consume -- [--seconds 5]
 */
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { createMetricsGenerator } from '../../src/generator/generator.js';
import { decodeExportRequest } from '../../src/otlp/decode-request.js';
import { freshRequest, makeTemplate } from '../lib/fresh-ids.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const seconds = Number(args.get('seconds') ?? 5);

const cfg = loadConfig([], {}).config.metrics_generator;
cfg.metrics_ingestion_time_range_slack = 0;
const gen = createMetricsGenerator({
  config: cfg,
  settings: () => ({ processors: new Set(['span-metrics', 'service-graphs']), maxActiveSeries: 100_000, collectionIntervalMs: 15_000 }),
  logger: pino({ level: 'warn' }),
  multitenancy: false,
});
const t = makeTemplate(500, 10);
const batches = Array.from({ length: 64 }, () => decodeExportRequest(freshRequest(t), 'bench'));
let spans = 0;
let i = 0;
const cpu0 = process.cpuUsage();
const began = process.hrtime.bigint();
const end = began + BigInt(seconds * 1e9);
while (process.hrtime.bigint() < end) {
  for (let k = 0; k < 20; k++) {
    const b = batches[i++ % batches.length]!;
    gen.consume(b);
    spans += b.spans.length;
  }
}
const s = Number(process.hrtime.bigint() - began) / 1e9;
const cpu = process.cpuUsage(cpu0);
// CPU time, not wall time: the machine is shared, and CPU per span is what one core can give.
console.log(
  `consume: ${spans} spans, ${((cpu.user + cpu.system) / spans).toFixed(3)} µs CPU/span, ${((s * 1e6) / spans).toFixed(3)} µs wall/span (both processors, ${t.spans} spans/batch)`,
);
gen.stop();

// For scale: the receivers' own decoding of the same requests (part of every push, generator or not).
const requests = Array.from({ length: 64 }, () => freshRequest(t));
let decoded = 0;
const dcpu0 = process.cpuUsage();
const dend = process.hrtime.bigint() + BigInt(seconds * 1e9);
while (process.hrtime.bigint() < dend) {
  for (let k = 0; k < 20; k++) decoded += decodeExportRequest(requests[i++ % requests.length]!, 'bench').spans.length;
}
const dcpu = process.cpuUsage(dcpu0);
console.log(`decodeExportRequest (for scale): ${((dcpu.user + dcpu.system) / decoded).toFixed(3)} µs CPU/span`);
