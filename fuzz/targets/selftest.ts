/**
 * Not a target of the project: a small maze that a coverage-guided fuzzer gets through quickly and a
 * blind one does not (each gate passed opens a new block), plus inputs that hang or exhaust the heap, so that
 * fuzz/engine/engine.test.ts can check the engine itself finds crashes, hangs and OOMs.
 */
import type { FuzzTarget } from '../engine/target.js';

function run(d: Uint8Array): void {
  if (d[0] === 0x48 && d[1] === 0x41 && d[2] === 0x4e && d[3] === 0x47) for (;;); // "HANG"
  if (d[0] === 0x4f && d[1] === 0x4f && d[2] === 0x4d) {
    // "OOM": keeps every chunk reachable until the heap limit ends the worker
    const keep: number[][] = [];
    for (;;) keep.push(new Array<number>(1 << 16).fill(keep.length));
  }
  // Four gates of 1 in 8 each: about 4,000 tries for a blind guess of all four at once (times the odds
  // that a mutation touches the right bytes), a few hundred per gate when each gate passed is kept.
  if (d.length < 4) return;
  if ((d[0]! & 7) !== 5) return;
  if ((d[1]! & 7) !== 3) return;
  if ((d[2]! & 7) !== 6) return;
  if ((d[3]! & 7) !== 1) return;
  throw new TypeError('selftest: the maze was solved');
}

export const target: FuzzTarget = {
  name: 'selftest',
  fuzz: run,
  expected: () => false,
  dictionary: [],
  maxLen: 16,
  coverage: ['/dist/fuzz/targets/selftest'],
};
