// Temporary: builds the dataset only (removed once search.ts exists).
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { configureDuckDB } from '../../src/block/duckdb.js';
import { prepareDataset } from './dataset.js';
const tmp = resolve('.bench', 'search', 'duckdb-tmp');
mkdirSync(tmp, { recursive: true });
configureDuckDB({ tempDirectory: tmp });
const d = await prepareDataset({ blocks: 10, spansPerBlock: 1_000_000, spansPerTrace: 10, rebuild: false });
console.log(`dataset ready in ${d.buildSeconds.toFixed(0)} s at ${d.dir}`);
