/**
 * `npm run test:fuzz`: runs each fuzz target (or those named on the command line) for a while,
 * keeps inputs that reach new code under fuzz/out/<target>/corpus/ and writes findings to
 * fuzz/out/<target>/findings/. Findings listed in fuzz/crashers/known.json are printed as KNOWN and do
 * not fail the run; anything else exits 1.
 *
 *   FUZZ_SECONDS   time per target (default 120)
 *   FUZZ_SEED      PRNG seed (default: random, printed)
 *   FUZZ_MAX_LEN   cap on generated input length (default: each target's own)
 *   --replay DIR   run only the inputs in DIR/<target>/, one by one, and report which still fail
 *                  (`--replay fuzz/crashers` tells whether the known bugs are fixed)
 */
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { matchKnown, readKnown } from './engine/known.js';
import { listCorpus, readCorpus, runTarget, saveFinding } from './engine/supervise.js';
import { TARGET_NAMES } from './engine/target.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const argv = process.argv.slice(2);
const replayAt = argv.indexOf('--replay');
const replayDir = replayAt >= 0 ? argv[replayAt + 1] : undefined;
if (replayAt >= 0) argv.splice(replayAt, 2);
const unknown = argv.filter((a) => !(TARGET_NAMES as readonly string[]).includes(a));
if (unknown.length > 0) {
  console.error(`unknown fuzz target(s): ${unknown.join(', ')}; known: ${TARGET_NAMES.join(', ')}`);
  process.exit(2);
}
const targets = argv.length > 0 ? argv : [...TARGET_NAMES];
const seconds = Number(process.env['FUZZ_SECONDS'] ?? 120);
const seed = process.env['FUZZ_SEED'] !== undefined ? Number(process.env['FUZZ_SEED']) : Math.floor(Math.random() * 2 ** 31);
const maxLen = process.env['FUZZ_MAX_LEN'] !== undefined ? Number(process.env['FUZZ_MAX_LEN']) : undefined;
const known = readKnown(join(root, 'fuzz', 'crashers', 'known.json'));
const quiet = (): void => {};

let failing = 0;
for (const name of targets) {
  if (replayDir !== undefined) {
    for (const path of listCorpus([join(replayDir, name)])) {
      const report = await runTarget({ target: name, seconds: 0, seed, seeds: [new Uint8Array(readFileSync(path))], replayOnly: true, log: quiet });
      const f = report.findings[0];
      console.log(`[${name}] ${basename(path)}: ${f === undefined ? 'passes' : `still fails (${f.kind}) ${f.message.split('\n')[0]}`}`);
      if (f !== undefined) failing++;
    }
    continue;
  }
  const out = join(root, 'fuzz', 'out', name);
  console.log(`[${name}] fuzzing for ${seconds} s, seed ${seed}`);
  const report = await runTarget({
    target: name,
    seconds,
    seed,
    ...(maxLen !== undefined ? { maxLen } : {}),
    seeds: readCorpus([join(root, 'fuzz', 'corpus', name), join(out, 'corpus')]),
    saveCorpusDir: join(out, 'corpus'),
  });
  for (const f of report.findings) {
    const k = matchKnown(f, known);
    console.log(`[${name}] ${k !== undefined ? 'KNOWN' : f.kind === 'slow' ? 'SLOW' : 'NEW'} finding saved as ${saveFinding(join(out, 'findings'), f)}`);
    if (k === undefined && f.kind !== 'slow') failing++;
  }
  console.log(`[${name}] ${report.execs} execs, ${report.seeds} seed inputs, ${report.newInputs} new inputs, corpus ${report.corpus}, ${report.features} coverage features, ${report.restarts} restarts, ${report.findings.length} findings`);
}
process.exit(failing > 0 ? 1 : 0);
