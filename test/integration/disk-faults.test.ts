/**
 * Disk faults against the real server: a full disk (a small tmpfs, the real ENOSPC), stdout on a full
 * device (/dev/full), and a flipped bit in a WAL segment. Each must leave the server up, reads served,
 * and every acknowledged trace readable after a restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials, status as grpcStatus } from '@grpc/grpc-js';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { projectRoot, startRubato, writeRubatoConfig, type RubatoProcess } from '../support/rubato-process.js';
import { byTrace, exportSpans, makeExporter, recordTraces } from '../support/otel-traces.js';
import { assertTraceComplete } from '../support/fetch-trace.js';
import { freePort } from '../support/ports.js';

const silentDiag: DiagLogger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, verbose: () => {} };

function otlpProto(spans: ReadableSpan[]): Uint8Array {
  const body = ProtobufTraceSerializer.serializeRequest(spans);
  assert.ok(body, 'serialized');
  return body;
}

async function postTrace(rubato: RubatoProcess, spans: ReadableSpan[]): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${rubato.otlpHttpPort}/v1/traces`, {
    method: 'POST',
    body: otlpProto(spans),
    headers: { 'content-type': 'application/x-protobuf' },
  });
  await r.arrayBuffer();
  return r.status;
}

function grpcExport(rubato: RubatoProcess, spans: ReadableSpan[]): Promise<number> {
  const client = new Client(`127.0.0.1:${rubato.grpcPort}`, credentials.createInsecure());
  return new Promise<number>((resolve) => {
    client.makeUnaryRequest(
      '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(otlpProto(spans)),
      (err) => {
        client.close();
        resolve(err === null ? grpcStatus.OK : err.code);
      },
    );
  });
}

function walSegments(dataDir: string): string[] {
  return readdirSync(join(dataDir, 'wal', 'segments')).filter((f) => f.endsWith('.wal'));
}

/** Traces that come back complete by ID (eight lookups at a time). */
async function countComplete(rubato: RubatoProcess, traces: ReadableSpan[][]): Promise<number> {
  let found = 0;
  let next = 0;
  const worker = async () => {
    while (next < traces.length) {
      const t = traces[next++]!;
      try {
        await assertTraceComplete(rubato, t);
        found++;
      } catch {
        // counted as missing by the caller
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return found;
}

async function metric(rubato: RubatoProcess, name: string): Promise<number> {
  const text = await (await fetch(`${rubato.url}/metrics`)).text();
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return m === null ? NaN : Number(m[1]);
}

test('disk full: pushes get a retryable 503 / UNAVAILABLE, reads go on, no pile of segments, recovery once space is back', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rubato-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dataDir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    t.skip(`cannot mount a tmpfs here (needs root): ${(err as Error).message.split('\n')[0]}`);
    return;
  }
  let rubato: RubatoProcess | undefined;
  const ballast = join(dataDir, 'ballast');
  try {
    rubato = await startRubato({ dataDir });
    await rubato.waitReady();
    const traces = byTrace(await recordTraces(400, 'disk-full'));
    const acked: ReadableSpan[][] = [];
    let next = 0;
    for (; next < 5; next++) {
      assert.equal(await postTrace(rubato, traces[next]!), 200);
      acked.push(traces[next]!);
    }

    // Leave 128 KiB free: a few dozen more pushes fit, then the disk is full.
    const fs = statfsSync(dataDir);
    writeFileSync(ballast, Buffer.alloc(fs.bavail * fs.bsize - 128 * 1024));
    const statuses: number[] = [];
    let refused = 0;
    while (refused < 40 && next < 300) {
      const t = traces[next++]!;
      const status = await postTrace(rubato, t);
      statuses.push(status);
      if (status === 200) acked.push(t);
      else refused++;
    }
    assert.equal(refused, 40, `the disk never filled: ${statuses.length} pushes accepted`);
    assert.deepEqual([...new Set(statuses)].sort(), [200, 503], `answers while filling: ${statuses.join(',')}`);
    assert.equal(await grpcExport(rubato, traces[next++]!), grpcStatus.UNAVAILABLE);

    // Still up, still ready, still answering reads; failed pushes left no trail of segment files.
    assert.equal(rubato.proc.exitCode, null);
    assert.equal((await fetch(`${rubato.url}/ready`)).status, 200);
    await assertTraceComplete(rubato, acked[0]!);
    await assertTraceComplete(rubato, acked.at(-1)!);
    const segs = walSegments(dataDir);
    assert.ok(segs.length <= 2, `segment files after ${refused} refused pushes: ${segs.join(',')}`);

    // A real SDK exporter that starts while the disk is full retries the 503 and gets through once
    // space is back; plain pushes succeed again too, all without a restart.
    const diagLines: string[] = [];
    diag.setLogger({ ...silentDiag, verbose: (msg: string) => void diagLines.push(msg) }, DiagLogLevel.VERBOSE);
    const exporter = makeExporter('http-proto', rubato);
    const viaSdk = traces[next++]!;
    const sdkExport = exportSpans(exporter, viaSdk);
    await new Promise((r) => setTimeout(r, 300));
    unlinkSync(ballast);
    assert.ok(await sdkExport, 'the SDK export went through after retrying');
    acked.push(viaSdk);
    await exporter.shutdown();
    diag.disable();
    assert.ok(
      diagLines.some((l) => /succeeded after [1-9]\d* retry/.test(l)),
      `exporter log: ${diagLines.join(' | ')}`,
    );
    for (let k = 0; k < 20; k++) {
      const t = traces[next++]!;
      assert.equal(await postTrace(rubato, t), 200);
      acked.push(t);
    }

    await rubato.stop();
    rubato = await startRubato({ dataDir });
    await rubato.waitReady();
    assert.equal(await countComplete(rubato, acked), acked.length);
  } finally {
    await rubato?.kill();
    try {
      execFileSync('umount', [dataDir], { stdio: 'pipe' });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
});

test('stdout on a full device: log lines are dropped and counted, the server keeps ingesting and answering', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rubato-devfull-'));
  const [httpPort, grpcPort, otlpHttpPort] = [await freePort(), await freePort(), await freePort()];
  const configPath = writeRubatoConfig(dataDir, { httpPort, grpcPort, otlpHttpPort });
  const full = openSync('/dev/full', 'w');
  const proc = spawn(process.execPath, [join(projectRoot, 'dist', 'src', 'main.js'), `-config.file=${configPath}`], {
    cwd: projectRoot,
    stdio: ['ignore', full, 'pipe'],
  });
  closeSync(full);
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const rubato = { url: `http://127.0.0.1:${httpPort}`, grpcPort, otlpHttpPort } as RubatoProcess;
  try {
    for (let i = 0; ; i++) {
      assert.equal(proc.exitCode, null, `rubato exited:\n${stderr}`);
      const ok = await fetch(`${rubato.url}/ready`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      assert.ok(i < 300, 'not ready in 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const exporter = makeExporter('http-proto', rubato);
    const traces = byTrace(await recordTraces(5, 'dev-full'));
    for (const t of traces) assert.ok(await exportSpans(exporter, t));
    await exporter.shutdown();
    for (const t of traces) await assertTraceComplete(rubato, t);
    assert.ok((await metric(rubato, 'tempo_logger_dropped_lines_total')) > 0);
    assert.equal(proc.exitCode, null);
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('one flipped bit in the WAL costs at most the record it hit: 400 acknowledged traces, restart, at least 399 back', async () => {
  let rubato = await startRubato();
  try {
    await rubato.waitReady();
    const traces = byTrace(await recordTraces(400, 'bit-flip'));
    // Four senders, one trace per export, so segments hold many small records as in production.
    let next = 0;
    const sender = async () => {
      const exporter = makeExporter('grpc', rubato);
      while (next < traces.length) assert.ok(await exportSpans(exporter, traces[next++]!));
      await exporter.shutdown();
    };
    await Promise.all([sender(), sender(), sender(), sender()]);
    await rubato.kill();

    const segDir = join(rubato.dataDir, 'wal', 'segments');
    const biggest = walSegments(rubato.dataDir)
      .map((f) => ({ path: join(segDir, f), size: statSync(join(segDir, f)).size }))
      .sort((a, b) => b.size - a.size)[0];
    assert.ok(biggest, 'a WAL segment exists');
    const bytes = readFileSync(biggest.path);
    const at = bytes.length >> 1;
    bytes[at] = bytes[at]! ^ 0x08;
    writeFileSync(biggest.path, bytes);

    rubato = await startRubato({ dataDir: rubato.dataDir });
    await rubato.waitReady();
    const found = await countComplete(rubato, traces);
    assert.ok(found >= 399, `${found} of 400 traces after one flipped bit`);
    assert.equal(await metric(rubato, 'tempo_ingester_wal_corrupt_records_skipped_total'), 1);
    assert.equal(await metric(rubato, 'tempo_ingester_replay_errors_total{tenant=""}'), 1);
    assert.match(rubato.output(), /corrupt record skipped/);
  } finally {
    await rubato.kill();
    rubato.cleanup();
  }
});
