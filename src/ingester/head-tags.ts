/**
 * A head block's tag names and values, kept up to date as the block grows. Without it every
 * autocomplete request decoded the whole head block again (a 50 000-span trace took about half a
 * second per keystroke on a quiet machine, many seconds under load) and gave up after 32 MB, so a
 * busy ingester's later traces never showed up in tag lists. Here each appended part is decoded once,
 * by the first tag request after it landed — the push path stays free of attribute decoding — and
 * every later request answers from the sets. Tag requests with a `q` filter still evaluate traces
 * (decoded-tags.ts): which spans match depends on the query.
 */
import { Counter } from 'prom-client';
import type { AttributeTagScope, TagRef, TypedValue } from '../block/block.js';
import { tagsOfTrace, valueKeysOf, type TagSink } from '../block/decoded-tags.js';
import { registry } from '../metrics/registry.js';
import { decodeTrace } from '../otlp/trace-decode.js';

const indexFull = new Counter({
  name: 'rubato_head_tag_index_full_total',
  help: 'Head blocks whose tag index reached its size bound; later new tag values of that block are not listed until it is written to the backend.',
  registers: [registry],
});

/** The part of a head block the index reads. */
export interface HeadRecords {
  recordsFrom(offset: number): Iterable<{ trace: Uint8Array; next: number }>;
}

/** Longest stretch of decoding before other work gets a turn. */
const YIELD_EVERY_MS = 10;

export class HeadTagIndex {
  private scannedTo = 0;
  private readonly names = new Map<AttributeTagScope, Set<string>>();
  private readonly values = new Map<string, Map<string, TypedValue>>();
  private bytes = 0;
  private full = false;
  private running: Promise<void> | null = null;

  /** `maxBytes`: names and values held at most (their text), so one block's index stays bounded. */
  constructor(
    private readonly head: HeadRecords,
    private readonly maxBytes: number,
  ) {}

  /** Decodes what was appended since the last call; concurrent callers share one pass. */
  async catchUp(signal?: AbortSignal): Promise<void> {
    // A pass started for another request may have stopped before this request's data: loop until caught up.
    for (;;) {
      signal?.throwIfAborted();
      if (this.running === null) {
        this.running = this.scan(signal).finally(() => {
          this.running = null;
        });
        return this.running;
      }
      // Its failure (an aborted request) is that request's to report; this one starts its own pass next.
      await Promise.allSettled([this.running]);
    }
  }

  tagNames(scopes: readonly AttributeTagScope[]): Map<AttributeTagScope, Set<string>> {
    return new Map(scopes.map((s) => [s, new Set(this.names.get(s))]));
  }

  tagValues(tag: TagRef): TypedValue[] {
    const out: TypedValue[] = [];
    for (const k of valueKeysOf(tag)) for (const v of this.values.get(k)?.values() ?? []) out.push(v);
    return out;
  }

  private async scan(signal?: AbortSignal): Promise<void> {
    const sink: TagSink = {
      name: (scope, key) => {
        let set = this.names.get(scope);
        if (set === undefined) this.names.set(scope, (set = new Set()));
        if (set.has(key) || !this.room(key.length)) return;
        set.add(key);
      },
      value: (valueKey, v) => {
        let map = this.values.get(valueKey);
        if (map === undefined) this.values.set(valueKey, (map = new Map()));
        const id = `${v.type}\u0000${v.value}`;
        if (map.has(id) || !this.room(id.length + valueKey.length)) return;
        map.set(id, v);
      },
    };
    let slice = performance.now();
    for (const { trace, next } of this.head.recordsFrom(this.scannedTo)) {
      tagsOfTrace(decodeTrace(trace), sink);
      this.scannedTo = next;
      if (performance.now() - slice > YIELD_EVERY_MS) {
        await new Promise((r) => setImmediate(r));
        signal?.throwIfAborted();
        slice = performance.now();
      }
    }
  }

  private room(n: number): boolean {
    if (this.bytes + n > this.maxBytes) {
      if (!this.full) indexFull.inc();
      this.full = true;
      return false;
    }
    this.bytes += n;
    return true;
  }
}
