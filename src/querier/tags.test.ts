import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Block, BlockSource, TypedValue } from '../block/block.js';
import { TagService } from './tags.js';

/** A block that only answers tag values: enough to check how the service combines and bounds them. */
function valuesBlock(id: string, values: TypedValue[]): Block {
  return {
    info: { id, tenant: 't', startMs: 0, endMs: 1, bytes: 0 },
    findTrace: async () => [],
    search: async function* () {},
    tagNames: async () => new Map(),
    tagValues: async () => values,
    traces: async function* () {},
  };
}

test('tag values from every block, deduplicated, sorted, and cut at max_bytes_per_tag_values_query', async () => {
  const source: BlockSource = {
    blocks: async () => [
      valuesBlock('a', [
        { type: 'string', value: 'bbbb' },
        { type: 'string', value: 'aaaa' },
      ]),
      valuesBlock('b', [
        { type: 'string', value: 'aaaa' },
        { type: 'string', value: 'cccc' },
      ]),
    ],
  };
  const tags = new TagService([source]);
  const tag = { kind: 'attribute', scope: 'span', key: 'k' } as const;
  assert.deepEqual(
    (await tags.tagValues('t', tag)).map((v) => v.value),
    ['aaaa', 'bbbb', 'cccc'],
  );
  assert.deepEqual(
    (await tags.tagValues('t', tag, { maxBytes: 9 })).map((v) => v.value),
    ['aaaa', 'bbbb'],
  );
  assert.deepEqual(
    (await tags.tagValues('t', tag, { limit: 1 })).map((v) => v.value),
    ['aaaa'],
  );
});
