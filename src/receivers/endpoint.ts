/** A listen address split into its parts. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses a Tempo-style `host:port` endpoint: `0.0.0.0:4317`, `[::]:4318`, `localhost:0`, or Go's `:4317`
 * (empty host = every interface). Throws on anything else so a bad config fails at start.
 */
export function parseEndpoint(endpoint: string): HostPort {
  const colon = endpoint.lastIndexOf(':');
  if (colon < 0) throw new Error(`invalid endpoint '${endpoint}': expected host:port`);
  let host = endpoint.slice(0, colon);
  const portText = endpoint.slice(colon + 1);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '') host = '0.0.0.0';
  const port = Number(portText);
  if (portText === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid endpoint '${endpoint}': bad port '${portText}'`);
  }
  return { host, port };
}

/** The address form grpc-js binds to (IPv6 hosts bracketed). */
export function grpcAddress({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
