/**
 * Test-only: spans that carry secrets where real applications leak them (a card number, an e-mail, a
 * JWT, a bearer token, IPv4/IPv6 addresses, a secret-keyed attribute, a password in db.statement, an
 * e-mail in a span name), in resource, span, event and link attributes, plus the redaction rules that
 * must remove every one of them. The redaction unit and integration tests share them.
 */
import { ROOT_CONTEXT, SpanKind, trace, type Link } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';

export const SECRET = {
  card: '4111 1111 1111 1111',
  cardDigits: '4111111111111111',
  email: 'jane.doe@example.com',
  jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJlc2VjcmV0',
  jwtSignature: 'c2lnbmF0dXJlc2VjcmV0',
  bearerToken: 'tok_9Zx81LmQpR7vW3nB',
  ipv4: '203.0.113.77',
  ipv6: '2001:db8:85a3::8a2e:370:7334',
  secretValue: 'sk-live-5f3e2d1c0b9a',
  password: 'hunter2-Correct-Horse',
  ssn: '078-05-1120',
} as const;

/** Every string that must appear nowhere after redaction. */
export const ALL_SECRETS: readonly string[] = Object.values(SECRET);

/** Present in the same places, never redacted: proves a search for the secrets would find them. */
export const CANARY = 'canary-visible-7f41c2';

export const HASH_KEY = 'redaction-test-key-0123456789';

/** The rules (an `overrides.<tenant>.redaction.rules` list, as YAML lines indented by `indent`). */
export function secretRulesYaml(indent: string): string {
  return [
    '- name: secret-keys',
    "  key_pattern: '(?i).*(secret|password|passwd).*'",
    '  action: hash',
    '- name: ssn',
    '  keys: [user.ssn]',
    '  action: drop',
    '- name: cards',
    '  detectors: [card_number]',
    '  action: mask',
    '  keep_last: 4',
    '- name: identity',
    '  detectors: [email, jwt, bearer_token, ipv4, ipv6]',
    '  action: hash',
    '- name: sql-literals',
    '  keys: [db.statement]',
    `  value_pattern: "'[^']*'|\\\\b[0-9]+\\\\b"`,
    '  action: mask',
    "  replacement: '?'",
    '- name: span-names',
    '  span_name: true',
    '  detectors: [email]',
    '  action: hash',
  ]
    .map((l) => indent + l)
    .join('\n');
}

/**
 * Records (and, with an exporter, sends) one trace of three spans holding the secrets. The user's
 * e-mail is also in a second span's attribute, so equal inputs can be seen hashing equally.
 */
export async function sendSecretTrace(exporter: SpanExporter | null, service = 'secrets-svc'): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const processors = [new SimpleSpanProcessor(memory)];
  if (exporter !== null) processors.push(new SimpleSpanProcessor(exporter));
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': service,
      'deployment.owner': SECRET.email,
      'host.ip': SECRET.ipv4,
      'cloud.api_secret': SECRET.secretValue,
      'canary.resource': CANARY,
    }),
    spanProcessors: processors,
  });
  const tracer = provider.getTracer('secrets-lib', '1.0.0');
  const root = tracer.startSpan(`notify ${SECRET.email}`, {
    kind: SpanKind.SERVER,
    attributes: {
      'http.route': '/pay',
      'payment.card': SECRET.card,
      'enduser.email': SECRET.email,
      'http.request.header.authorization': `Bearer ${SECRET.bearerToken}`,
      'auth.jwt': SECRET.jwt,
      'client.address': SECRET.ipv6,
      'user.ssn': SECRET.ssn,
      'canary.span': CANARY,
    },
  });
  const rootCtx = trace.setSpan(ROOT_CONTEXT, root);
  const db = tracer.startSpan(
    'UPDATE users',
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'db.system': 'postgresql',
        'db.statement': `UPDATE users SET password = '${SECRET.password}' WHERE id = 42`,
        'db.user.email': SECRET.email,
      },
    },
    rootCtx,
  );
  db.addEvent('card.charged', { 'event.card': SECRET.cardDigits, 'event.email': SECRET.email, 'canary.event': CANARY });
  db.end();
  const link: Link = { context: db.spanContext(), attributes: { 'link.token': SECRET.jwt, 'link.peer': SECRET.ipv4, 'canary.link': CANARY } };
  const follow = tracer.startSpan('follow-up', { kind: SpanKind.INTERNAL, links: [link], attributes: { 'db.password': SECRET.password } }, rootCtx);
  follow.end();
  root.end();
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  return spans;
}
