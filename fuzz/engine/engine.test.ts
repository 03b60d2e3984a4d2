/**
 * Checks the fuzz engine on a synthetic target (fuzz/targets/selftest.ts): it must find a crash behind
 * a four-gate maze with coverage guidance, stop a hung input and survive an input that exhausts the
 * heap, each time handing back the input that did it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runTarget } from './supervise.js';

const quiet = (): void => {};

test('coverage guidance walks a four-gate maze to its crash, and the finding carries that input', async () => {
  const report = await runTarget({ target: 'selftest', seconds: 90, seed: 7, seeds: [new Uint8Array(4)], stopOnFinding: true, log: quiet });
  const f = report.findings.find((x) => x.kind === 'crash');
  assert.ok(f, `no crash found in ${report.execs} execs`);
  assert.match(f.message, /maze was solved/);
  assert.deepEqual(
    Array.from(f.input.subarray(0, 4), (b) => b & 7),
    [5, 3, 6, 1],
  );
});

test('an input that never returns is reported as a hang with its bytes', async () => {
  const report = await runTarget({ target: 'selftest', seconds: 0, seed: 1, seeds: [Buffer.from('HANG')], replayOnly: true, hangMs: 1000, log: quiet });
  assert.deepEqual(
    report.findings.map((f) => [f.kind, Buffer.from(f.input).toString()]),
    [['hang', 'HANG']],
  );
});

test('an input that exhausts the worker heap is reported as OOM with its bytes', async () => {
  const report = await runTarget({ target: 'selftest', seconds: 0, seed: 1, seeds: [Buffer.from('OOM')], replayOnly: true, heapMb: 64, log: quiet });
  assert.deepEqual(
    report.findings.map((f) => [f.kind, Buffer.from(f.input).toString()]),
    [['oom', 'OOM']],
  );
});
