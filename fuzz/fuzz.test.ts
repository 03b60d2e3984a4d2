/**
 * The CI fuzz run, part of `npm test`: replays each target's corpus (fuzz/corpus/<target>/) and then
 * fuzzes it, both within FUZZ_CI_SECONDS per target (default 10; the replay always completes).
 * Fails on any finding not listed in fuzz/crashers/known.json; the longer run is `npm run test:fuzz`.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { matchKnown, readKnown } from './engine/known.js';
import { readCorpus, runTarget } from './engine/supervise.js';
import { TARGET_NAMES, type TargetName } from './engine/target.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const seconds = Number(process.env['FUZZ_CI_SECONDS'] ?? 10);
const seed = process.env['FUZZ_SEED'] !== undefined ? Number(process.env['FUZZ_SEED']) : Math.floor(Math.random() * 2 ** 31);
// Short queries keep the CI run clear of the parser's known stack overflow on deep nesting.
const CI_MAX_LEN: Partial<Record<TargetName, number>> = { traceql: 128 };
const known = readKnown(join(root, 'fuzz', 'crashers', 'known.json'));

for (const name of TARGET_NAMES) {
  test(`fuzz ${name}: the corpus and ${seconds} s of coverage-guided inputs find no new crash, hang or OOM`, async (t) => {
    const lines: string[] = [];
    const cap = CI_MAX_LEN[name];
    const report = await runTarget({
      target: name,
      seconds,
      seed,
      ...(cap !== undefined ? { maxLen: cap } : {}),
      seeds: readCorpus([join(root, 'fuzz', 'corpus', name)]),
      log: (l) => lines.push(l),
    });
    t.diagnostic(
      `${name}: seed ${seed}, ${report.seeds} corpus inputs replayed, ${report.execs} execs, ${report.newInputs} new inputs, ${report.features} coverage features`,
    );
    const fresh = [];
    for (const f of report.findings) {
      const k = matchKnown(f, known);
      if (k !== undefined || f.kind === 'slow') t.diagnostic(`${k !== undefined ? 'known' : 'slow'} finding (${f.kind}): ${f.message.split('\n')[0]}`);
      else fresh.push(f);
    }
    if (fresh.length > 0) console.log(lines.filter((l) => l.includes('FINDING')).join('\n'));
    assert.deepEqual(
      fresh.map((f) => `${f.kind}: ${f.message.split('\n')[0]} — input base64 ${Buffer.from(f.input).toString('base64')}`),
      [],
    );
  });
}
