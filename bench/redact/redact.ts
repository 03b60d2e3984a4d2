/**
 * What redaction costs the ingest path: the ingest benchmark's OTLP/gRPC load (its driver,
 * `--load-only`, the same ~370-byte spans) against rubato pinned to one core, with no redaction rules
 * and then with five typical rules, alternating (none, five, none, five, …) so machine noise hits both
 * alike. Prints spans/s and the server's CPU per span for each, medians, and the ratio. Then the
 * redaction step alone, in this process: CPU per span on the same requests (nothing to change) and on
 * requests where every span carries secrets (each request re-encoded).
 *
 *   npm run bench:redact -- [--seconds 10] [--rounds 3] [--core 0]
 *   npm run bench:redact -- --step-only 1   (the in-process part only)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { redactionSchema } from '../../src/config/redaction.js';
import { decodeExportRequest } from '../../src/otlp/decode-request.js';
import { createRedactor } from '../../src/redact/redactor.js';
import { encodeRequest } from '../../test/support/receiver-fixtures.js';
import { sendSecretTrace } from '../../test/support/secret-spans.js';
import { makeTemplate } from '../lib/fresh-ids.js';
import { measureIngest, startServer } from '../lib/server.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const seconds = Number(args.get('seconds') ?? 10);
const rounds = Number(args.get('rounds') ?? 3);
const core = args.get('core') ?? '0';

/** The five rules, as `overrides.defaults.redaction` lines (indented for bench/lib's startServer). */
const FIVE_RULES = [
  'hash_key: bench-key',
  'rules:',
  '  - name: secret-keys',
  "    key_pattern: '(?i).*(secret|password|token|api[_-]?key).*'",
  '    action: hash',
  '  - name: drop-cookies',
  '    keys: [http.request.header.cookie, user.ssn]',
  '    action: drop',
  '  - name: cards',
  '    detectors: [card_number]',
  '    action: mask',
  '    keep_last: 4',
  '  - name: identity',
  '    detectors: [email, jwt, bearer_token, ipv4, ipv6]',
  '    action: hash',
  '  - name: sql-literals',
  '    keys: [db.statement]',
  `    value_pattern: "'[^']*'|\\\\b[0-9]+\\\\b"`,
  '    action: mask',
  "    replacement: '?'",
];

interface RunResult {
  spansPerSec: number;
  cpuUsPerSpan: number;
}

async function run(name: string, redactionYaml: string[]): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), `rubato-bench-redact-${name.replace(/\W+/g, '-')}-`));
  const extraYaml = redactionYaml.length > 0 ? ['    redaction:', ...redactionYaml.map((l) => `      ${l}`)] : [];
  // Shutdown need not build blocks from what was sent: the WAL keeps it, and the next round starts fresh.
  const server = await startServer(dir, { core, extraYaml, ingester: ['trace_idle_period: 10s', 'flush_all_on_shutdown: false'] });
  try {
    return await measureIngest(server, name, seconds, 11);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 === 1 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
};

/** Rules 1, 2 and 5 (keys, and a key's value pattern) and rules 3 and 4 (detectors on every value). */
const KEY_RULES = [...FIVE_RULES.slice(0, 8), ...FIVE_RULES.slice(15)];
const DETECTOR_RULES = [...FIVE_RULES.slice(0, 2), ...FIVE_RULES.slice(8, 15)];

/** CPU µs per span of redact() alone over `requests` (decoded once: redact never changes its input), for about `ms`. */
function stepCost(requests: readonly Uint8Array[], ms: number, rules: readonly string[] = FIVE_RULES): number {
  const section = redactionSchema.parse(parse(rules.join('\n')));
  const redactor = createRedactor(() => ({ defaults: section, tenant: section }));
  const batches = requests.map((r) => decodeExportRequest(r, 'bench'));
  let spans = 0;
  const began = Date.now();
  const cpu0 = process.cpuUsage();
  while (Date.now() - began < ms) {
    for (const b of batches) {
      redactor.redact(b);
      spans += b.spans.length;
    }
  }
  const used = process.cpuUsage(cpu0);
  return (used.user + used.system) / spans;
}

async function main(): Promise<void> {
  if (args.has('step-only')) return stepReport();
  console.log(`redaction cost bench: ${seconds}s per run, ${rounds} rounds, ingest driver load, server on core ${core}`);
  const none: RunResult[] = [];
  const five: RunResult[] = [];
  for (let i = 0; i < rounds; i++) {
    none.push(await run('no rules', []));
    five.push(await run('five rules', FIVE_RULES));
  }
  const noneS = median(none.map((r) => r.spansPerSec));
  const fiveS = median(five.map((r) => r.spansPerSec));
  const noneC = median(none.map((r) => r.cpuUsPerSpan));
  const fiveC = median(five.map((r) => r.cpuUsPerSpan));
  console.log(
    `median spans/s: no rules ${noneS.toFixed(0)}, five rules ${fiveS.toFixed(0)}: ratio ${(fiveS / noneS).toFixed(3)}, throughput drop ${(((noneS - fiveS) / noneS) * 100).toFixed(1)}% (target: at most 10%)`,
  );
  console.log(
    `median server CPU per span: no rules ${noneC.toFixed(2)} µs, five rules ${fiveC.toFixed(2)} µs: +${(((fiveC - noneC) / noneC) * 100).toFixed(1)}% (one core: a CPU-bound server loses ${(((fiveC - noneC) / fiveC) * 100).toFixed(1)}% of its throughput)`,
  );
  await stepReport();
}

async function stepReport(): Promise<void> {
  const template = makeTemplate(500, 10);
  const clean = stepCost([template.bytes], 3000);
  const secretSpans = await sendSecretTrace(null);
  const secret = stepCost([encodeRequest(secretSpans)], 3000);
  const keysOnly = stepCost([template.bytes], 2000, KEY_RULES);
  const detectorsOnly = stepCost([template.bytes], 2000, DETECTOR_RULES);
  console.log('redaction step alone (this process), CPU per span on the ingest load (nothing to change):');
  console.log(
    `  five rules ${clean.toFixed(2)} µs; the three key rules alone ${keysOnly.toFixed(2)} µs; the two detector rules alone ${detectorsOnly.toFixed(2)} µs`,
  );
  console.log(`  when every span carries secrets (each request re-encoded): ${secret.toFixed(2)} µs`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
