/**
 * The UI's only way to the server: rubato's own HTTP API (the same one Grafana uses), resolved
 * against the UI root so it works under a path prefix, with the tenant header when one is set.
 */

/** The UI root (ends in '/'), fixed once at start from the <base href> the server wrote. */
export const root: string = new URL(document.baseURI).href;

const TENANT_KEY = 'rubato.tenant';

export function tenant(): string {
  return localStorage.getItem(TENANT_KEY) ?? '';
}

export function setTenant(t: string): void {
  if (t === '') localStorage.removeItem(TENANT_KEY);
  else localStorage.setItem(TENANT_KEY, t);
}

// With access control on (auth.enabled), every API call carries a read token. It stays in this
// browser's localStorage, readable only by the UI's own origin (the page's CSP allows no other script).
const TOKEN_KEY = 'rubato.token';

export function token(): string {
  return localStorage.getItem(TOKEN_KEY) ?? '';
}

export function setToken(t: string): void {
  if (t === '') localStorage.removeItem(TOKEN_KEY);
  else localStorage.setItem(TOKEN_KEY, t);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** What every API request carries: the answer type, the tenant and (access control on) the token. */
function requestHeaders(accept: string): Record<string, string> {
  const headers: Record<string, string> = { accept };
  const t = tenant();
  if (t !== '') headers['X-Scope-OrgID'] = t;
  const k = token();
  if (k !== '') headers['Authorization'] = `Bearer ${k}`;
  return headers;
}

/** GET a path below the root; resolves with the body text, throws ApiError with the server's message. */
export async function getText(path: string, signal?: AbortSignal): Promise<string> {
  const headers = requestHeaders('application/json');
  const res = await fetch(new URL(path, root), { headers, signal: signal ?? null });
  const text = await res.text();
  if (!res.ok) throw new ApiError(res.status, text.trim() || `HTTP ${res.status}`);
  return text;
}

/** GET a path below the root as protobuf (Tempo's answers to `Accept: application/protobuf`). */
export async function getBytes(path: string, signal?: AbortSignal): Promise<Uint8Array> {
  const headers = requestHeaders('application/protobuf');
  const res = await fetch(new URL(path, root), { headers, signal: signal ?? null });
  if (!res.ok) {
    const text = await res.text();
    throw new ApiError(res.status, text.trim() || `HTTP ${res.status}`);
  }
  return new Uint8Array(await res.arrayBuffer());
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  return JSON.parse(await getText(path, signal)) as T;
}

export interface SearchTrace {
  traceID: string;
  rootServiceName?: string;
  rootTraceName?: string;
  startTimeUnixNano?: string;
  durationMs?: number;
  spanSets?: Array<{ matched?: number; spans?: SearchSpan[] }>;
  spanSet?: { matched?: number };
  serviceStats?: Record<string, { spanCount?: number; errorCount?: number }>;
}

export interface SearchSpan {
  spanID: string;
  name?: string;
  durationNanos?: string;
  attributes?: Array<{ key: string; value: { stringValue?: string } }>;
}

export interface SearchAnswer {
  traces?: SearchTrace[];
  metrics?: Record<string, unknown>;
}

export interface TagScopes {
  scopes?: Array<{ name: string; tags: string[] }>;
}

export interface TagValues {
  tagValues?: Array<{ type: string; value: string }>;
}

export function query(params: Record<string, string | number | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s === '' ? '' : `?${s}`;
}
