/**
 * `npm run fuzz:seeds`: writes the seed corpus under fuzz/corpus/. OTLP requests come from the
 * OpenTelemetry SDK's own serializers over the project's span fixture, so seeds are what real
 * exporters send; TraceQL queries and configs are written here by hand to cover the grammar and the
 * config sections. Regenerating overwrites only these named files; inputs the fuzzer found and that
 * were added by hand stay.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { fixtureSpans } from '../test/support/otel-fixture.js';

const corpus = fileURLToPath(new URL('../../fuzz/corpus/', import.meta.url));

function write(target: string, name: string, data: Uint8Array | string): void {
  mkdirSync(join(corpus, target), { recursive: true });
  writeFileSync(join(corpus, target, name), data);
}

const spans = fixtureSpans();
const firstTrace = spans.filter((s) => s.spanContext().traceId === spans[0]!.spanContext().traceId);
const subsets: [string, ReadableSpan[]][] = [
  ['one-span', spans.slice(0, 1)],
  ['one-trace', firstTrace],
  ['two-services', [...firstTrace, ...spans.slice(12, 14)]],
];
for (const [name, set] of subsets) {
  const proto = ProtobufTraceSerializer.serializeRequest(set);
  const json = JsonTraceSerializer.serializeRequest(set);
  if (proto === undefined || json === undefined) throw new Error('the OTel serializer returned nothing');
  write('otlp-proto', `sdk-${name}.bin`, proto);
  write('otlp-json', `sdk-${name}.json`, json);
}
// The JSON mapping also allows snake_case names, integers as numbers and enum names.
write(
  'otlp-json',
  'hand-snake-case.json',
  JSON.stringify({
    resource_spans: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { string_value: 'svc' } },
            { key: 'n', value: { int_value: 3 } },
          ],
        },
        scope_spans: [
          {
            scope: { name: 'lib', version: '1' },
            spans: [
              {
                trace_id: '5b8efff798038103d269b633813fc60c',
                span_id: 'eee19b7ec3c1b174',
                parent_span_id: '',
                name: 'op',
                kind: 'SPAN_KIND_CLIENT',
                start_time_unix_nano: '1544712660000000000',
                end_time_unix_nano: 1544712661000000000,
                attributes: [
                  {
                    key: 'a',
                    value: {
                      kvlist_value: {
                        values: [{ key: 'k', value: { array_value: { values: [{ double_value: 1.5 }, { bool_value: true }, { bytes_value: 'AQI=' }] } } }],
                      },
                    },
                  },
                ],
                events: [{ time_unix_nano: '1544712660500000000', name: 'e' }],
                status: { code: 2, message: 'bad' },
              },
            ],
          },
        ],
      },
    ],
  }),
);

const queries = [
  '{}',
  '{ true }',
  '{ span.http.status_code >= 500 && resource.service.name = "api" }',
  '{ .db.system = "postgresql" || name =~ "GET.*" }',
  '{ status = error } >> { kind = client }',
  '{ duration > 100ms } | count() > 2',
  '{ resource.service.name != nil } | avg(duration) > 1.5s',
  '{ span.foo !~ "b[a-z]+" } && { event.name = "exception" }',
  '{ .a = 1 } ~ { .b = 2 }',
  '{ .x } !>> { .y }',
  '({ .a } || { .b }) | select(span.name, resource.service.name)',
  '{ traceDuration > 1s && rootServiceName = "frontend" }',
  '{ span:name = "x" && trace:rootName = "y" && span:status != ok }',
  '{ .n + 2 * 3 > 10 - .m / 2 }',
  '{ link.reason = "retry" && instrumentation.name = "http-lib" }',
  '{ span."with space" = `raw"str` }',
  '{ kind = server } | by(resource.service.name) | count() > 1',
  '{ .a } | coalesce()',
  '{ status = error } | rate() by (resource.service.name)',
  '{ } | quantile_over_time(duration, .5, .99) by (span.http.route)',
  '{ } | count_over_time() with (sample=true)',
  '{ nestedSetParent = -1 } | max(span.count) < 3',
  '{ .flag = true && .ratio <= 0.25 && .neg = -42 }',
  '{ parent.name = "root" }',
  '{ .a = "unterminated }',
];
for (const [i, q] of queries.entries()) write('traceql', `hand-${String(i).padStart(2, '0')}.traceql`, q);

const configs: Record<string, string> = {
  'minimal.yaml': 'server:\n  http_listen_port: 3200\n',
  'receivers.yaml':
    'distributor:\n  receivers:\n    otlp:\n      protocols:\n        grpc:\n          endpoint: 0.0.0.0:4317\n        http:\n          endpoint: "0.0.0.0:4318"\n',
  'storage.yaml':
    'storage:\n  trace:\n    backend: local\n    local:\n      path: /tmp/rubato/traces\n    wal:\n      path: /tmp/rubato/wal\ncompactor:\n  compaction:\n    block_retention: 72h\n',
  'ingester.yaml': 'ingester:\n  trace_idle_period: 10s\n  max_block_bytes: 1000000\n  max_block_duration: 5m\n',
  'overrides.yaml':
    'overrides:\n  defaults:\n    ingestion:\n      rate_limit_bytes: 15000000\n      burst_size_bytes: 20000000\n      max_traces_per_user: 10000\n',
  'legacy-overrides.yaml': 'auth_enabled: false\noverrides:\n  ingestion_rate_limit_bytes: 100000\n  max_traces_per_user: 5\n',
  'env-and-anchors.yaml':
    'server:\n  http_listen_port: ${FUZZ_PORT}\n  log_level: ${FUZZ_MISSING:-info}\ndefaults: &d\n  trace_idle_period: 5s\ningester:\n  <<: *d\n  max_block_duration: 1h30m\n',
  'unknown-keys.yaml':
    'usage_report:\n  reporting_enabled: false\nquerier:\n  frontend_worker:\n    frontend_address: localhost:9095\nmetrics_generator:\n  processor:\n    service_graphs: {}\n',
  'wrong-type.yaml': 'server:\n  http_listen_port: "not a port"\n',
  'empty.yaml': '',
};
for (const [name, text] of Object.entries(configs)) write('config', name, text);
console.log(`seed corpus written under ${corpus}`);
