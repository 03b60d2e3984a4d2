/**
 * The fuzz loop, run in a worker thread so that the supervisor (supervise.ts) can stop an input that
 * hangs and survive one that exhausts the heap: before each execution the input is copied into a
 * shared buffer the supervisor can read after the worker is gone.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CoverageTracker } from './coverage.js';
import { mutate, Rng, type MutationContext } from './mutate.js';
import { mutateProto } from './proto-mutate.js';
import type { FuzzTarget } from './target.js';
import { signatureOf, SLOT_BUSY, SLOT_LEN, SLOT_SEQ, type WorkerData, type WorkerMessage } from './protocol.js';

// Libraries under test emit process warnings on odd inputs (the yaml package on mapping keys that are
// collections); thousands of them would drown the report, and they are not findings.
process.removeAllListeners('warning');

const data = workerData as WorkerData;
const port = parentPort!;
const send = (m: WorkerMessage): void => port.postMessage(m);

const mod = (await import(new URL(`../targets/${data.target}.js`, import.meta.url).href)) as { target: FuzzTarget };
const target = mod.target;
const header = new Int32Array(data.shared, 0, 4);
const slot = new Uint8Array(data.shared, 16);
const maxLen = Math.min(data.maxLen ?? target.maxLen, slot.length);
const seenSignatures = new Set<string>(data.knownSignatures);
let execs = 0;
let found = false;
// The first input pays for lazy loading and compilation: not counted as slow.
let slowReported = -1;

function exec(input: Uint8Array): void {
  const n = Math.min(input.length, slot.length);
  slot.set(input.subarray(0, n));
  Atomics.store(header, SLOT_LEN, n);
  Atomics.add(header, SLOT_SEQ, 1);
  Atomics.store(header, SLOT_BUSY, 1);
  const t0 = performance.now();
  try {
    target.fuzz(input);
  } catch (err) {
    if (!target.expected(err)) {
      const e = err instanceof Error ? err : new Error(String(err));
      const signature = signatureOf(e);
      if (!seenSignatures.has(signature)) {
        seenSignatures.add(signature);
        found = true;
        send({ type: 'finding', kind: 'crash', signature, message: `${e.name}: ${e.message}`, stack: e.stack ?? '', input });
      }
    }
  } finally {
    Atomics.store(header, SLOT_BUSY, 0);
  }
  const ms = performance.now() - t0;
  execs++;
  if (slowReported < 0) slowReported = 0;
  else if (ms > data.slowMs && slowReported++ < 3)
    send({ type: 'finding', kind: 'slow', signature: `slow:${Math.round(ms)}ms`, message: `one input took ${Math.round(ms)} ms`, stack: '', input });
}

// The time budget covers the corpus replay too, so a large corpus does not lengthen the CI run.
const deadline = Date.now() + data.seconds * 1000;
const tracker = new CoverageTracker(target.coverage, data.coarse);
exec(new Uint8Array(0));
tracker.collect();

const corpus: Uint8Array[] = [];
for (const [index, seed] of data.seeds.entries()) {
  exec(seed);
  if (tracker.collect() > 0) send({ type: 'kept', index });
  corpus.push(seed);
}
if (corpus.length === 0) corpus.push(new Uint8Array(0));

const rng = new Rng(data.seed);
const dictionary = target.dictionary.map((t) => Buffer.from(t, 'utf8'));
const ctx: MutationContext = { rng, dictionary, corpus, maxLen };
let lastStats = Date.now();
while (!data.replayOnly && Date.now() < deadline && !(found && data.stopOnFinding)) {
  // Favour recent finds a little: they are the frontier of the coverage.
  const parent = rng.next() < 0.3 ? corpus[corpus.length - 1 - rng.int(Math.min(16, corpus.length))]! : rng.pick(corpus);
  const structural = target.protobuf === true && rng.next() < 0.5 ? mutateProto(parent, rng, corpus) : null;
  const child = structural !== null && structural.length <= maxLen ? structural : mutate(parent, ctx);
  exec(child);
  if (tracker.collect() > 0) {
    corpus.push(child);
    send({ type: 'new', input: child });
  }
  if (Date.now() - lastStats > 5000) {
    lastStats = Date.now();
    send({ type: 'stats', execs, corpus: corpus.length, features: tracker.size });
  }
}
tracker.stop();
send({ type: 'done', execs, corpus: corpus.length, features: tracker.size });
