import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, jsonLineToLogfmt } from './logger.js';

function capture(): { lines: string[]; write: (s: string) => void } {
  const lines: string[] = [];
  return { lines, write: (s: string) => lines.push(s) };
}

test('logfmt output starts with level, ts, msg and quotes values with spaces', () => {
  const sink = capture();
  const log = createLogger('info', 'logfmt', sink);
  log.info({ tenant: 'single-tenant', note: 'two words' }, 'block flushed');
  log.debug('hidden');
  assert.equal(sink.lines.length, 1);
  const line = sink.lines[0] as string;
  assert.match(line, /^level=info ts=\d{4}-\d\d-\d\dT[^ ]+Z msg="block flushed" tenant=single-tenant note="two words"\n$/);
});

test('json output is one JSON object per line with a string level', () => {
  const sink = capture();
  const log = createLogger('debug', 'json', sink);
  log.debug({ n: 1 }, 'hello');
  const rec = JSON.parse(sink.lines[0] as string) as Record<string, unknown>;
  assert.equal(rec['level'], 'debug');
  assert.equal(rec['msg'], 'hello');
  assert.equal(rec['n'], 1);
});

test('errors are printed by their message in logfmt', () => {
  const line = jsonLineToLogfmt(JSON.stringify({ level: 'error', msg: 'failed', err: { type: 'Error', message: 'disk full', stack: '...' } }));
  assert.equal(line, 'level=error msg=failed err="disk full"\n');
});

test('an unknown level is refused', () => {
  assert.throws(() => createLogger('verbose'), /invalid log level/);
});

test('a log line that cannot be written (stdout on a full disk) is dropped and counted, never thrown', async () => {
  const { openSync, closeSync } = await import('node:fs');
  const { droppedLogLines, fdDestination } = await import('./logger.js');
  const fd = openSync('/dev/full', 'w');
  try {
    const before = (await droppedLogLines.get()).values[0]?.value ?? 0;
    const log = createLogger('info', 'logfmt', fdDestination(fd));
    log.info('first');
    createLogger('info', 'json', fdDestination(fd)).warn({ n: 1 }, 'second');
    const after = (await droppedLogLines.get()).values[0]?.value ?? 0;
    assert.equal(after - before, 2);
  } finally {
    closeSync(fd);
  }
});
