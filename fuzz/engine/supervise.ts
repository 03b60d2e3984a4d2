/**
 * Runs one fuzz target in a worker thread and watches it: an input that runs longer than `hangMs` is
 * a hang (the worker is terminated), a worker that runs out of its heap limit is an out-of-memory
 * finding; either way the input is read back from the shared buffer and the run goes on in a fresh
 * worker until its time is up.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { SLOT_BUSY, SLOT_LEN, SLOT_SEQ, type FindingKind, type WorkerData, type WorkerMessage } from './protocol.js';

export interface Finding {
  readonly target: string;
  readonly kind: FindingKind;
  readonly signature: string;
  readonly message: string;
  readonly stack: string;
  readonly input: Uint8Array;
}

export interface RunOptions {
  readonly target: string;
  readonly seconds: number;
  readonly seed: number;
  /** Overrides the target's own cap on generated input length. */
  readonly maxLen?: number;
  /** The inputs to start from (see readCorpus). */
  readonly seeds: readonly Uint8Array[];
  /** Only run the seed inputs, no mutation. */
  readonly replayOnly?: boolean;
  /** End the run at the first finding (crash, hang or OOM). */
  readonly stopOnFinding?: boolean;
  /** Coverage without hit counts (see CoverageTracker). */
  readonly coarse?: boolean;
  /** Where to write inputs that found new coverage (none when undefined). */
  readonly saveCorpusDir?: string;
  readonly hangMs?: number;
  readonly slowMs?: number;
  readonly heapMb?: number;
  readonly log?: (line: string) => void;
}

export interface RunReport {
  readonly target: string;
  readonly seed: number;
  execs: number;
  corpus: number;
  features: number;
  seeds: number;
  restarts: number;
  readonly findings: Finding[];
  newInputs: number;
  /** Indexes of the seeds that added coverage over the seeds before them. */
  readonly kept: number[];
}

export function sha1(b: Uint8Array): string {
  return createHash('sha1').update(b).digest('hex');
}

/** Every regular file under the given folders (not recursive, not notes), in name order. */
export function readCorpus(dirs: readonly string[]): Uint8Array[] {
  return listCorpus(dirs).map((p) => new Uint8Array(readFileSync(p)));
}

export function listCorpus(dirs: readonly string[]): string[] {
  const out: string[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      continue; // a target without a corpus yet starts from the empty input
    }
    for (const n of names) {
      const p = join(dir, n);
      if (n.startsWith('.') || n.endsWith('.md') || !statSync(p).isFile()) continue;
      out.push(p);
    }
  }
  return out;
}

export async function runTarget(opts: RunOptions): Promise<RunReport> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const seeds = opts.seeds;
  const longestSeed = seeds.reduce((m, s) => Math.max(m, s.length), 0);
  const shared = new SharedArrayBuffer(16 + Math.max(longestSeed, opts.maxLen ?? 0, 1 << 16));
  const header = new Int32Array(shared, 0, 4);
  const hangMs = opts.hangMs ?? 10_000;
  const report: RunReport = {
    target: opts.target,
    seed: opts.seed,
    execs: 0,
    corpus: 0,
    features: 0,
    seeds: seeds.length,
    restarts: 0,
    findings: [],
    newInputs: 0,
    kept: [],
  };
  const signatures = new Set<string>();
  const corpus = [...seeds];
  const endAt = Date.now() + opts.seconds * 1000;
  if (opts.saveCorpusDir !== undefined) mkdirSync(opts.saveCorpusDir, { recursive: true });

  const record = (f: Finding): void => {
    if (f.kind !== 'slow' && signatures.has(f.signature)) return;
    signatures.add(f.signature);
    report.findings.push(f);
    log(
      `[${opts.target}] FINDING (${f.kind}) ${f.message}\n  input (${f.input.length} bytes, base64): ${Buffer.from(f.input).toString('base64')}\n  ${f.stack.split('\n').slice(0, 8).join('\n  ')}`,
    );
  };

  const lastInput = (): Uint8Array => new Uint8Array(shared, 16, Atomics.load(header, SLOT_LEN)).slice();

  // One worker per pass; a hang or an OOM ends the pass and, while time remains, another one starts.
  for (let pass = 0; ; pass++) {
    const seconds = Math.max(0, (endAt - Date.now()) / 1000);
    const data: WorkerData = {
      target: opts.target,
      seconds,
      seed: (opts.seed + pass * 7919) >>> 0,
      maxLen: opts.maxLen,
      seeds: corpus,
      shared,
      replayOnly: opts.replayOnly ?? false,
      coarse: opts.coarse ?? false,
      stopOnFinding: opts.stopOnFinding ?? false,
      slowMs: opts.slowMs ?? 1000,
      knownSignatures: [...signatures],
    };
    Atomics.store(header, SLOT_BUSY, 0);
    // stackSizeMb 1: about the main thread's own stack, where the server parses requests and queries.
    const worker = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: data,
      resourceLimits: { maxOldGenerationSizeMb: opts.heapMb ?? 512, stackSizeMb: 1 },
    });
    const ended = await new Promise<'done' | 'hang' | 'oom' | 'error'>((resolve) => {
      let lastSeq = -1;
      let seqSince = Date.now();
      const watchdog = setInterval(() => {
        const seq = Atomics.load(header, SLOT_SEQ);
        if (seq !== lastSeq) {
          lastSeq = seq;
          seqSince = Date.now();
        } else if (Atomics.load(header, SLOT_BUSY) === 1 && Date.now() - seqSince > hangMs) {
          clearInterval(watchdog);
          record({
            target: opts.target,
            kind: 'hang',
            signature: `hang:${pass}`,
            message: `one input ran for more than ${hangMs} ms`,
            stack: '',
            input: lastInput(),
          });
          void worker.terminate().then(() => resolve('hang'));
        } else if (Date.now() > endAt + hangMs + 60_000) {
          clearInterval(watchdog);
          log(`[${opts.target}] worker did not stop after its time; terminated`);
          void worker.terminate().then(() => resolve('error'));
        }
      }, 250);
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'finding') record({ target: opts.target, ...m });
        else if (m.type === 'kept') {
          if (pass === 0) report.kept.push(m.index);
        } else if (m.type === 'new') {
          corpus.push(m.input);
          report.newInputs++;
          if (opts.saveCorpusDir !== undefined) writeFileSync(join(opts.saveCorpusDir, sha1(m.input)), m.input);
        } else {
          report.execs += m.type === 'done' ? m.execs : 0;
          report.corpus = m.corpus;
          report.features = Math.max(report.features, m.features);
          if (m.type === 'stats') log(`[${opts.target}] execs ${report.execs + m.execs} corpus ${m.corpus} features ${m.features}`);
        }
      });
      worker.on('error', (err: Error & { code?: string }) => {
        clearInterval(watchdog);
        if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
          record({
            target: opts.target,
            kind: 'oom',
            signature: `oom:${pass}`,
            message: `heap limit of ${opts.heapMb ?? 512} MB reached`,
            stack: err.stack ?? '',
            input: lastInput(),
          });
          resolve('oom');
        } else {
          record({
            target: opts.target,
            kind: 'crash',
            signature: `worker:${err.message}`,
            message: `fuzz worker failed: ${err.message}`,
            stack: err.stack ?? '',
            input: lastInput(),
          });
          resolve('error');
        }
      });
      worker.on('exit', () => {
        clearInterval(watchdog);
        resolve('done');
      });
    });
    if (ended === 'done' || ended === 'error' || opts.replayOnly === true || opts.stopOnFinding === true || Date.now() >= endAt - 1000) break;
    report.restarts++;
  }
  return report;
}

/** Writes a finding's input and a note (error, stack, base64) under `dir`; returns the input's path. */
export function saveFinding(dir: string, f: Finding): string {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${f.kind}-${sha1(f.input).slice(0, 16)}`);
  writeFileSync(`${base}.bin`, f.input);
  writeFileSync(
    `${base}.txt`,
    `target: ${f.target}\nkind: ${f.kind}\nsignature: ${f.signature}\n${f.message}\n\ninput base64: ${Buffer.from(f.input).toString('base64')}\n\n${f.stack}\n`,
  );
  return `${base}.bin`;
}
