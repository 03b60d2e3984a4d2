/**
 * The search benchmark's data: BLOCKS blocks of SPANS_PER_BLOCK spans from the ingest benchmark's
 * generator, written with the real block writer and kept under ./.bench/search/ so reruns skip it.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createLocalBackend } from '../../src/backend/local.js';
import type { Backend } from '../../src/backend/backend.js';
import type { BlockMeta } from '../../src/block/meta.js';
import { listBlocks } from '../../src/block/listing.js';
import type { TraceRecord } from '../../src/model/trace-record.js';
import { writeBlock } from '../../src/block/writer.js';
import { decodeExportRequest } from '../../src/otlp/decode-request.js';
import { encodeTrace, type SpanBytes } from '../../src/otlp/trace-encode.js';
import { generateExportRequest } from '../lib/generate.js';

export interface DatasetOptions {
  readonly blocks: number;
  readonly spansPerBlock: number;
  readonly spansPerTrace: number;
  readonly rebuild: boolean;
}

export interface Dataset {
  readonly dir: string;
  readonly backend: Backend;
  readonly tenant: string;
  readonly metas: BlockMeta[];
  /** Seconds spent generating and writing; 0 when the blocks were reused. */
  readonly buildSeconds: number;
}

export const TENANT = 'bench';
const TRACES_PER_REQUEST = 1000;
const BASE_NS = 1_767_225_600_000_000_000n;
// One generated request spans ~25 s (the generator advances ~25 ms per trace); 30 s keeps them apart.
const REQUEST_SPAN_NS = 30_000_000_000n;

/** Traces of one block, sorted by ID, as the block writer wants them. */
function blockTraces(block: number, opts: DatasetOptions): TraceRecord[] {
  const traces = Math.floor(opts.spansPerBlock / opts.spansPerTrace);
  const requests = Math.ceil(traces / TRACES_PER_REQUEST);
  const byTrace = new Map<string, SpanBytes[]>();
  for (let r = 0; r < requests; r++) {
    const n = Math.min(TRACES_PER_REQUEST, traces - r * TRACES_PER_REQUEST);
    const global = block * requests + r;
    const bytes = generateExportRequest({
      traces: n,
      spansPerTrace: opts.spansPerTrace,
      seed: 1 + global,
      startUnixNano: BASE_NS + BigInt(global) * REQUEST_SPAN_NS,
    });
    for (const s of decodeExportRequest(bytes, TENANT).spans) {
      let list = byTrace.get(s.traceId);
      if (list === undefined) byTrace.set(s.traceId, (list = []));
      list.push({ resource: s.resource, scope: s.scope, span: s.span });
    }
  }
  return [...byTrace.keys()].sort().map((traceId) => ({ traceId, trace: encodeTrace(byTrace.get(traceId)!) }));
}

/** Opens the cached blocks, or generates them when missing or incomplete. */
export async function prepareDataset(opts: DatasetOptions): Promise<Dataset> {
  const dir = resolve('.bench', 'search', `${opts.blocks}x${opts.spansPerBlock}x${opts.spansPerTrace}`);
  const backend = createLocalBackend(join(dir, 'blocks'));
  const existing = opts.rebuild ? [] : await listBlocks(backend, TENANT).catch(() => []);
  if (existing.length === opts.blocks) return { dir, backend, tenant: TENANT, metas: existing, buildSeconds: 0 };

  await rm(join(dir, 'blocks'), { recursive: true, force: true });
  await mkdir(join(dir, 'blocks'), { recursive: true });
  const t0 = performance.now();
  const metas: BlockMeta[] = [];
  for (let b = 0; b < opts.blocks; b++) {
    const g = performance.now();
    const traces = blockTraces(b, opts);
    const genMs = performance.now() - g;
    const w = performance.now();
    const meta = await writeBlock(backend, TENANT, traces);
    metas.push(meta);
    console.log(
      `block ${b + 1}/${opts.blocks}: ${meta.totalSpans} spans, ${meta.totalObjects} traces, ${(meta.size / 1e6).toFixed(0)} MB, ` +
        `generate ${(genMs / 1000).toFixed(1)} s, write ${((performance.now() - w) / 1000).toFixed(1)} s`,
    );
  }
  return { dir, backend, tenant: TENANT, metas, buildSeconds: (performance.now() - t0) / 1000 };
}
