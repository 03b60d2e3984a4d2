/**
 * Fuzz target: TraceQL query text, as /api/search and /api/metrics get it: parse, validate, then the
 * steps a valid query goes through before touching storage (condition extraction, compilation).
 * Expected: TraceQLParseError, TraceQLValidationError, TraceQLUnsupportedError.
 */
import { compile, extractConditions, parse, TraceQLParseError, TraceQLUnsupportedError, TraceQLValidationError, validate } from '../../src/traceql/index.js';
import type { FuzzTarget } from '../engine/target.js';

function run(data: Uint8Array): void {
  const ast = parse(Buffer.from(data).toString('utf8'));
  validate(ast);
  extractConditions(ast);
  compile(ast);
}

export const target: FuzzTarget = {
  name: 'traceql',
  fuzz: run,
  expected: (err) => err instanceof TraceQLParseError || err instanceof TraceQLValidationError || err instanceof TraceQLUnsupportedError,
  dictionary: [
    '{', '}', '(', ')', '[', ']', '.', ',', '"', '`', ' && ', ' || ', ' | ', ' >> ', ' << ', ' > ', ' < ', ' ~ ', ' !~ ', ' !>> ', ' &>> ', ' = ', ' != ', ' =~ ', ' >= ', ' <= ', ' + ', ' - ', ' * ', ' / ', ' % ', ' ^ ', '!',
    'span.', 'resource.', 'event.', 'link.', 'instrumentation.', 'parent.', 'trace:', 'span:', 'event:', 'link:', 'instrumentation:',
    'name', 'status', 'kind', 'duration', 'statusMessage', 'rootName', 'rootServiceName', 'traceDuration', 'nestedSetLeft', 'id', 'childCount',
    'error', 'ok', 'unset', 'server', 'client', 'internal', 'producer', 'consumer', 'nil', 'true', 'false',
    'count()', 'avg(', 'min(', 'max(', 'sum(', 'select(', 'by(', 'coalesce()', 'rate()', 'count_over_time()', 'quantile_over_time(', 'histogram_over_time(', 'topk(', 'bottomk(', 'with(', 'sample=', 'most_recent=true',
    '1ms', '2.5s', '10m', '1h', '100ns', '1us', '0.5', '-3', '1e3', '"a.*"', '"\\\\"', 'span.http.status_code', 'resource.service.name', '.foo',
  ],
  // Long enough to nest deeply; the CI run (fuzz.test.ts) caps it lower.
  maxLen: 1024,
  coverage: ['/dist/src/'],
};
