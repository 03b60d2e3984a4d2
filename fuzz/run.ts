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
 *   --merge        no fuzzing: replay fuzz/corpus/<target>/ and fuzz/out/<target>/corpus/, smallest
 *                  first, and copy into fuzz/corpus/<target>/ the found inputs that add coverage
 */
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyFileSync, readFileSync, statSync } from 'node:fs';
import { matchKnown, readKnown } from './engine/known.js';
import { listCorpus, readCorpus, runTarget, saveFinding } from './engine/supervise.js';
import { TARGET_NAMES } from './engine/target.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const argv = process.argv.slice(2);
const replayAt = argv.indexOf('--replay');
const replayDir = replayAt >= 0 ? argv[replayAt + 1] : undefined;
if (replayAt >= 0) argv.splice(replayAt, 2);
const mergeAt = argv.indexOf('--merge');
if (mergeAt >= 0) argv.splice(mergeAt, 1);
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
  if (mergeAt >= 0) {
    const own = listCorpus([join(root, 'fuzz', 'corpus', name)]);
    const found = listCorpus([join(out, 'corpus')]).sort((a, b) => statSync(a).size - statSync(b).size);
    const paths = [...own, ...found];
    const report = await runTarget({
      target: name,
      seconds: 0,
      seed,
      seeds: paths.map((p) => new Uint8Array(readFileSync(p))),
      replayOnly: true,
      coarse: true,
      log: quiet,
    });
    const add = report.kept.filter((i) => i >= own.length).map((i) => paths[i]!);
    for (const p of add) copyFileSync(p, join(root, 'fuzz', 'corpus', name, `found-${basename(p).slice(0, 16)}`));
    console.log(`[${name}] merge: ${found.length} found inputs, ${add.length} add coverage to the ${own.length} in fuzz/corpus/${name}/ and were copied there`);
    continue;
  }
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
  console.log(
    `[${name}] ${report.execs} execs, ${report.seeds} seed inputs, ${report.newInputs} new inputs, corpus ${report.corpus}, ${report.features} coverage features, ${report.restarts} restarts, ${report.findings.length} findings`,
  );
}
process.exit(failing > 0 ? 1 : 0);
