// Where a client puts its token: Grafana's Tempo data source offers bearer auth (Authorization:
// Bearer), basic auth (the token as password) and custom headers; OTLP exporters and the Collector
// send any of these as HTTP headers or gRPC metadata. One reader for every way in.

/** Default custom header (rubato's own); `auth.header` changes it. */
export const DEFAULT_TOKEN_HEADER = 'x-rubato-token';

/** Reads one header or metadata value by lower-case name. */
export type HeaderGetter = (name: string) => string | undefined;

/**
 * The token a request presents, or undefined. The custom header wins over Authorization, so a
 * proxy's own Authorization header can coexist with it. Basic auth takes the password (any user
 * name); a Basic value with an empty password takes the user name.
 */
export function presentedToken(get: HeaderGetter, customHeader: string): string | undefined {
  const custom = get(customHeader)?.trim();
  if (custom !== undefined && custom !== '') return custom;
  const auth = get('authorization')?.trim();
  if (auth === undefined || auth === '') return undefined;
  const space = auth.indexOf(' ');
  if (space < 0) return undefined;
  const scheme = auth.slice(0, space).toLowerCase();
  const value = auth.slice(space + 1).trim();
  if (scheme === 'bearer') return value === '' ? undefined : value;
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const password = decoded.slice(colon + 1);
    const user = decoded.slice(0, colon);
    return password !== '' ? password : user !== '' ? user : undefined;
  }
  return undefined;
}

/** A HeaderGetter over Node's incoming headers (fastify's req.headers). */
export function httpHeaders(headers: Record<string, string | string[] | undefined>): HeaderGetter {
  return (name) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
}
