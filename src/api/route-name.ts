/** Tempo-style route label for metrics: '/api/v2/traces/:traceId' → 'api_v2_traces_traceid'. */
export function routeName(url: string | undefined): string {
  if (url === undefined || url === '') return 'other';
  const name = url
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return name === '' ? 'root' : name;
}
