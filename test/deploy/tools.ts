// Finds the command-line tools the image and chart tests run (helm, kubeconform, hadolint) and the
// schema sources next to them, as scripts/install-deploy-tools.sh lays them out. Without them the
// tests skip with the command to run, except in CI (CI=true), where a missing tool is a failure.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export const toolsDir = process.env['RUBATO_TOOLS'] ?? join(homedir(), '.cache', 'rubato-tools');

const INSTALL_HINT = 'run `bash scripts/install-deploy-tools.sh` (or set RUBATO_TOOLS)';

/** Path of a tool: $<NAME> (e.g. $HELM), then $RUBATO_TOOLS/bin, then PATH; undefined if none. */
export function findTool(name: string): string | undefined {
  const fromEnv = process.env[name.toUpperCase()];
  if (fromEnv !== undefined && existsSync(fromEnv)) return fromEnv;
  for (const dir of [join(toolsDir, 'bin'), ...(process.env['PATH'] ?? '').split(delimiter)]) {
    if (dir !== '' && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** A file the install script puts in $RUBATO_TOOLS; undefined if it is not there. */
export function toolsFile(name: string): string | undefined {
  const p = join(toolsDir, name);
  return existsSync(p) ? p : undefined;
}

/**
 * What node:test's `skip` option should be for a test needing these tools and files: false when all
 * are there; a reason to skip when not (outside CI); throws in CI, where the install script has run.
 */
export function needs(tools: readonly string[], files: readonly string[] = []): false | string {
  const missing = [...tools.filter((t) => findTool(t) === undefined), ...files.filter((f) => toolsFile(f) === undefined)];
  if (missing.length === 0) return false;
  const reason = `${missing.join(', ')} not installed: ${INSTALL_HINT}`;
  if (process.env['CI'] !== undefined && process.env['CI'] !== '' && process.env['CI'] !== 'false') throw new Error(reason);
  return reason;
}

/** Runs a tool to completion; throws with its output when it exits non-zero. */
export function run(tool: string, args: readonly string[], opts: { cwd?: string; env?: Record<string, string> } = {}): string {
  const path = findTool(tool);
  if (path === undefined) throw new Error(`${tool} not installed: ${INSTALL_HINT}`);
  const res: SpawnSyncReturns<string> = spawnSync(path, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.error !== undefined) throw res.error;
  if (res.status !== 0) {
    throw new Error(`${tool} ${args.join(' ')} exited with ${res.status}:\n${res.stdout}\n${res.stderr}`);
  }
  return res.stdout;
}
