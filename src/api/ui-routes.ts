/**
 * Serves rubato's own web UI (built by Vite from ui/ into dist/webui) on the API port, so a team can
 * look at its traces without Grafana. Deep links (/trace/<id>, /search?q=…, /compare?…) all answer
 * with index.html; a relative <base href> written per request makes the same files work at `/` and
 * behind a reverse proxy that mounts rubato under a path prefix, without rubato knowing the prefix.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface UiOptions {
  /** Folder holding index.html and assets/; default dist/webui beside the compiled server. */
  readonly dir?: string;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.map': 'application/json',
};

// The UI fetches only its own origin; inline style attributes come from the waterfall's bar geometry.
const CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; object-src 'none'; base-uri 'self'; frame-ancestors 'self'";

/** Paths of the single-page app: each answers with index.html. */
export const PAGES = ['/', '/search', '/compare', '/trace/:traceId', '/services', '/services/:service'];

/** The relative base that leads from the request's folder back to the UI root: '/trace/x' → '../'. */
export function relativeBase(urlPath: string): string {
  const depth = urlPath.split('/').length - 2;
  return depth <= 0 ? './' : '../'.repeat(depth);
}

export function registerUiRoutes(app: FastifyInstance, opts: UiOptions = {}): void {
  const dir = opts.dir ?? fileURLToPath(new URL('../../webui/', import.meta.url));
  const indexPath = join(dir, 'index.html');
  const index = existsSync(indexPath) ? readFileSync(indexPath, 'utf8') : null;
  // Hashed asset names are known once at start: only those are served, so no path from a request
  // ever reaches the file system.
  // Compressed once here (the bundle is ~50 KB): text assets shrink to a third on the wire.
  const assets = new Map<string, { raw: Buffer; gzip: Buffer | null }>();
  const assetDir = join(dir, 'assets');
  if (existsSync(assetDir)) {
    for (const name of readdirSync(assetDir)) {
      const raw = readFileSync(join(assetDir, name));
      const gzip = /\.(js|css|svg|json|map)$/.test(name) ? gzipSync(raw, { level: 9 }) : null;
      assets.set(name, { raw, gzip: gzip !== null && gzip.length < raw.length ? gzip : null });
    }
  }

  const page = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    if (index === null) {
      return reply.code(503).type('text/plain; charset=utf-8').send(`the web UI is not built (no ${indexPath}): run npm run build:ui`);
    }
    const path = req.url.split('?')[0] ?? '/';
    const html = index.replace('<head>', `<head><base href="${relativeBase(path)}">`);
    return reply
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .type('text/html; charset=utf-8')
      .send(html);
  };
  for (const p of PAGES) app.get(p, page);

  app.get<{ Params: { name: string } }>('/assets/:name', async (req, reply) => {
    const asset = assets.get(req.params.name);
    if (asset === undefined) return reply.code(404).type('text/plain; charset=utf-8').send(`404 page not found: ${req.url}`);
    const gzip = asset.gzip !== null && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    if (gzip) void reply.header('content-encoding', 'gzip');
    return reply
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('vary', 'accept-encoding')
      .header('x-content-type-options', 'nosniff')
      .type(CONTENT_TYPES[extname(req.params.name)] ?? 'application/octet-stream')
      .send(gzip ? asset.gzip : asset.raw);
  });
}
