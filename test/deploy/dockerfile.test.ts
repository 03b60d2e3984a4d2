// The image cannot be built on these machines (no Docker), so its Dockerfile is checked here: hadolint's
// rules, the properties the chart relies on (non-root numeric user matching the chart's, read-only root
// friendly, /var/tempo volume, the three ports, Tempo-like entrypoint), a build context that holds what
// the build stage copies, that build stage's compile run on exactly that context, and a runtime stage
// that needs no dev dependency.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { projectRoot } from '../support/rubato-process.js';
import { needs, run } from './tools.js';

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions, continuation lines joined, comments and parser directives dropped. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^(\S+)\s*(.*)$/.exec(full);
    if (m !== null) out.push({ keyword: (m[1] ?? '').toUpperCase(), args: m[2] ?? '' });
  }
  return out;
}

/** The instructions of each stage, by stage name (or index). */
function stages(all: readonly Instruction[]): Array<{ from: string; name: string; body: Instruction[] }> {
  const out: Array<{ from: string; name: string; body: Instruction[] }> = [];
  for (const i of all) {
    if (i.keyword === 'FROM') {
      const [image = '', as, name] = i.args.split(/\s+/);
      out.push({ from: image, name: as?.toUpperCase() === 'AS' && name !== undefined ? name : String(out.length), body: [] });
    } else {
      out.at(-1)?.body.push(i);
    }
  }
  return out;
}

// A .dockerignore pattern (*, double-star slash, literal text) as a regular expression over a relative path.
function globRegExp(pattern: string): RegExp {
  const parts = pattern.split('**/').map((p) =>
    p
      .replace(/[^\w*?/-]/g, (c) => `\\${c}`)
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '[^/]'),
  );
  return new RegExp(`^${parts.join('(?:.*/)?')}$`);
}

const dockerfile = readFileSync(join(projectRoot, 'Dockerfile'), 'utf8');
const all = instructions(dockerfile);
const [build, runtime, ...rest] = stages(all);

function only(body: readonly Instruction[], keyword: string): Instruction[] {
  return body.filter((i) => i.keyword === keyword);
}

describe('Dockerfile', () => {
  it('passes hadolint', { skip: needs(['hadolint']) }, () => {
    run('hadolint', ['--failure-threshold', 'style', 'Dockerfile'], { cwd: projectRoot });
  });

  it('builds in one stage and runs from a second on a tagged Debian Node 20 image (DuckDB needs glibc)', () => {
    assert.ok(build && runtime, 'two stages');
    assert.deepEqual(rest, []);
    for (const s of [build, runtime]) {
      assert.match(s.from, /^node:20[.\d]*-(bookworm|trixie)-slim(@sha256:[0-9a-f]{64})?$/, `${s.from}: Node 20, Debian slim, pinned tag`);
      assert.doesNotMatch(s.from, /:latest\b/);
    }
    const buildRuns = only(build.body, 'RUN')
      .map((i) => i.args)
      .join('\n');
    assert.match(buildRuns, /npm ci\b/);
    assert.match(buildRuns, /npm run build:server/);
    assert.match(buildRuns, /npm run build:ui/);
    const runtimeRuns = only(runtime.body, 'RUN')
      .map((i) => i.args)
      .join('\n');
    assert.match(runtimeRuns, /npm ci --omit=dev/);
    assert.doesNotMatch(runtimeRuns, /npm run build|\btsc\b/);
    const fromBuild = only(runtime.body, 'COPY').filter((c) => c.args.includes(`--from=${build.name}`));
    assert.deepEqual(
      fromBuild.map((c) => c.args),
      [`--from=${build.name} /src/dist/src ./dist/src`, `--from=${build.name} /src/dist/webui ./dist/webui`],
    );
  });

  it('runs as the numeric non-root user the chart sets, with /var/tempo as a volume and the three ports', () => {
    assert.ok(runtime);
    const users = only(runtime.body, 'USER');
    assert.equal(users.length, 1);
    const [uid, gid] = (users[0]?.args ?? '').split(':');
    assert.match(uid ?? '', /^[1-9]\d*$/, 'numeric uid (so Kubernetes can check runAsNonRoot)');
    const values = parse(readFileSync(join(projectRoot, 'deploy', 'helm', 'rubato', 'values.yaml'), 'utf8')) as {
      securityContext: { runAsUser: number; runAsGroup: number };
    };
    assert.equal(Number(uid), values.securityContext.runAsUser);
    assert.equal(Number(gid), values.securityContext.runAsGroup);

    assert.deepEqual(
      only(runtime.body, 'VOLUME').map((i) => i.args),
      ['/var/tempo'],
    );
    assert.deepEqual(
      only(runtime.body, 'EXPOSE')
        .flatMap((i) => i.args.split(/\s+/))
        .sort(),
      ['3100', '4317', '4318'],
    );
    assert.equal(only(runtime.body, 'HEALTHCHECK').length, 1);
    assert.match(only(runtime.body, 'HEALTHCHECK')[0]?.args ?? '', /\/ready/);
    // Nothing else may need writing at run time: temp files and HOME go to /tmp, data to /var/tempo.
    const env = only(runtime.body, 'ENV')
      .map((i) => i.args)
      .join(' ');
    assert.match(env, /TMPDIR=\/tmp/);
    assert.match(env, /HOME=\/tmp/);
  });

  it("takes Tempo-style flags: ENTRYPOINT is node with rubato's flags, CMD a config under /var/tempo", () => {
    assert.ok(runtime);
    const entrypoint = JSON.parse(only(runtime.body, 'ENTRYPOINT')[0]?.args ?? 'null') as string[];
    assert.deepEqual(entrypoint, ['node', '--max-semi-space-size=2', 'dist/src/main.js']);
    const cmd = JSON.parse(only(runtime.body, 'CMD')[0]?.args ?? 'null') as string[];
    assert.deepEqual(cmd, ['-config.file=/etc/rubato/rubato.yaml']);
    const baked = parse(readFileSync(join(projectRoot, 'deploy', 'docker', 'rubato.yaml'), 'utf8')) as {
      storage: { trace: { local: { path: string }; wal: { path: string } } };
    };
    assert.match(baked.storage.trace.local.path, /^\/var\/tempo\//);
    assert.match(baked.storage.trace.wal.path, /^\/var\/tempo\//);
  });

  it('has a build context (.dockerignore) holding what the build copies, and that context compiles', () => {
    const ignore = readFileSync(join(projectRoot, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    assert.equal(ignore[0], '*', 'allow-list: everything is left out unless listed');
    const included = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    const excluded = ignore.slice(1).filter((l) => !l.startsWith('!'));
    const sources = all
      .filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))
      .flatMap((i) =>
        i.args
          .split(/\s+/)
          .filter((a) => !a.startsWith('--'))
          .slice(0, -1),
      );
    assert.ok(sources.length > 0);
    for (const s of sources) {
      assert.ok(existsSync(join(projectRoot, s)), `${s} exists`);
      assert.ok(
        included.some((inc) => s.replace(/\/$/, '') === inc || s.startsWith(`${inc}/`)),
        `${s} is in the build context`,
      );
    }

    // The build stage's compile, on exactly that context (node_modules from `npm ci` linked in).
    const ctx = mkdtempSync(join(tmpdir(), 'rubato-docker-ctx-'));
    try {
      const dropped = (path: string): boolean => excluded.some((pattern) => globRegExp(pattern).test(path));
      for (const inc of included) {
        cpSync(join(projectRoot, inc), join(ctx, inc), { recursive: true, filter: (src) => !dropped(relative(projectRoot, src)) });
      }
      assert.equal(existsSync(join(ctx, 'src', 'main.ts')), true);
      assert.equal(existsSync(join(ctx, 'src', 'config', 'load.test.ts')), false, 'tests stay out of the context');
      symlinkSync(join(projectRoot, 'node_modules'), join(ctx, 'node_modules'), 'dir');
      const res = spawnSync(process.execPath, [join(ctx, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
        cwd: ctx,
        encoding: 'utf8',
      });
      assert.equal(res.status, 0, `build:server on the docker context:\n${res.stdout}\n${res.stderr}`);
      assert.ok(existsSync(join(ctx, 'dist', 'src', 'main.js')));
    } finally {
      rmSync(ctx, { recursive: true, force: true });
    }
  });

  it('runs with production dependencies only: nothing the server loads imports a dev dependency', () => {
    const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules]);
    const bad: string[] = [];
    // Walk the module graph from main.js, following static and dynamic imports and the
    // `new URL('./x.js', import.meta.url)` entry points of workers and child processes.
    const seen = new Set<string>();
    const queue = [join(projectRoot, 'dist', 'src', 'main.js')];
    while (queue.length > 0) {
      const file = queue.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      const specs = [
        ...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)['"]([^'"]+)['"]/gm),
        ...text.matchAll(/new URL\(\s*['"](\.[^'"]+)['"]\s*,\s*import\.meta\.url/g),
      ].map((m) => m[1] ?? '');
      for (const spec of specs) {
        if (spec.startsWith('.')) {
          if (spec.endsWith('.js')) queue.push(join(dirname(file), spec));
          continue;
        }
        if (spec.startsWith('node:')) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec);
        if (!allowed.has(name)) bad.push(`${relative(projectRoot, file)}: ${spec}`);
      }
    }
    assert.ok(seen.size > 20, `walked ${seen.size} modules`);
    assert.deepEqual(bad, []);
  });
});
