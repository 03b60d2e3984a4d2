import { Counter, Histogram } from 'prom-client';
import { registry } from '../metrics/registry.js';

export const compactedBlocks = new Counter({
  name: 'tempodb_compaction_blocks_total',
  help: 'Total number of blocks compacted.',
  registers: [registry],
});

export const writtenBlocks = new Counter({
  name: 'tempodb_compaction_outstanding_blocks_written_total',
  help: 'Blocks written by compaction.',
  registers: [registry],
});

export const retentionDeleted = new Counter({
  name: 'tempodb_retention_deleted_total',
  help: 'Blocks deleted because they were past block_retention.',
  registers: [registry],
});

export const compactionErrors = new Counter({
  name: 'tempodb_compaction_errors_total',
  help: 'Compaction passes that failed.',
  registers: [registry],
});

export const compactionDuration = new Histogram({
  name: 'tempodb_compaction_duration_seconds',
  help: 'Time of one compaction pass (retention and merges).',
  buckets: [0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
  registers: [registry],
});

export const damagedBlocks = new Counter({
  name: 'rubato_compactor_damaged_blocks_total',
  help: 'Blocks the compactor found damaged and leaves out of merges.',
  registers: [registry],
});

export const recoveredBlocks = new Counter({
  name: 'rubato_compactor_recovered_blocks_total',
  help: 'Blocks with an unreadable meta.json rebuilt from their data.',
  registers: [registry],
});
