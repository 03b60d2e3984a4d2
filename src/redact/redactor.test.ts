// Redaction on encoded OTLP requests: every secret of the shared fixture is gone from the bytes the
// WAL would store, what is not covered stays byte-identical, and equal inputs hash equally.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { redactionSchema, type RedactionConfig } from '../config/redaction.js';
import { loadConfig } from '../config/load.js';
import { ConfigError } from '../config/errors.js';
import { decodeExportRequest } from '../otlp/decode-request.js';
import { otlpJsonToProto } from '../otlp/json-request.js';
import { decodeTrace } from '../otlp/trace-decode.js';
import type { AnyValue, KeyValue } from '../model/trace.js';
import { encodeRequest } from '../../test/support/receiver-fixtures.js';
import { ALL_SECRETS, CANARY, HASH_KEY, SECRET, secretRulesYaml, sendSecretTrace } from '../../test/support/secret-spans.js';
import { createRedactor } from './redactor.js';
import { DETECTORS, type Ranges } from './detectors.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

function section(yaml: string): RedactionConfig {
  return redactionSchema.parse(parse(yaml));
}

const rules = section(`hash_key: ${HASH_KEY}\nrules:\n${secretRulesYaml('  ')}\n`);
const none = section('{}');

function str(v: AnyValue | undefined): string | undefined {
  return v !== undefined && 'stringValue' in v ? v.stringValue : undefined;
}

function attr(list: readonly KeyValue[], key: string): string | undefined {
  return str(list.find((kv) => kv.key === key)?.value);
}

function contains(bytes: Uint8Array, s: string): boolean {
  return Buffer.from(bytes).includes(Buffer.from(s));
}

describe('redaction of an encoded request', async () => {
  const spans = await sendSecretTrace(null);
  const request = encodeRequest(spans);
  for (const s of [...ALL_SECRETS, CANARY]) assert.ok(contains(request, s), `fixture carries ${s}`);

  test('removes every secret from the payload and the span bytes, keeps the rest', () => {
    const redactor = createRedactor(() => ({ defaults: rules, tenant: rules }));
    const batch = decodeExportRequest(request, 't');
    const out = redactor.redact(batch);
    assert.notEqual(out, batch);
    assert.equal(out.spans.length, batch.spans.length);
    assert.equal(out.byteSize, out.payload.length);
    for (const s of ALL_SECRETS) {
      assert.ok(!contains(out.payload, s), `payload still holds ${s}`);
      for (const e of out.spans) assert.ok(!contains(e.span, s) && !contains(e.resource, s) && !contains(e.scope, s), `span entry holds ${s}`);
    }
    assert.ok(contains(out.payload, CANARY));
    assert.deepEqual(
      out.spans.map((s) => [s.traceId, s.startNs, s.endNs]),
      batch.spans.map((s) => [s.traceId, s.startNs, s.endNs]),
    );

    const trace = decodeTrace(out.payload);
    const rs = trace.resourceSpans[0]!;
    const all = rs.scopeSpans.flatMap((ss) => ss.spans);
    const byName = (prefix: string) => all.find((s) => s.name.startsWith(prefix))!;
    const root = byName('notify ');
    const db = byName('UPDATE users');
    const follow = byName('follow-up');
    const emailHash = attr(root.attributes, 'enduser.email')!;
    assert.match(emailHash, /^hmac:[0-9a-f]{16}$/);
    // Equal inputs hash equally wherever they are: resource, span, event attribute and span name.
    assert.equal(attr(rs.resource.attributes, 'deployment.owner'), emailHash);
    assert.equal(attr(db.attributes, 'db.user.email'), emailHash);
    assert.equal(attr(db.events[0]!.attributes, 'event.email'), emailHash);
    assert.equal(root.name, `notify ${emailHash}`);
    assert.equal(attr(root.attributes, 'payment.card'), '****1111');
    assert.equal(attr(db.events[0]!.attributes, 'event.card'), '****1111');
    assert.match(attr(root.attributes, 'http.request.header.authorization')!, /^hmac:[0-9a-f]{16}$/);
    assert.equal(attr(db.attributes, 'db.statement'), 'UPDATE users SET password = ? WHERE id = ?');
    assert.equal(attr(db.attributes, 'db.system'), 'postgresql');
    assert.equal(
      root.attributes.find((kv) => kv.key === 'user.ssn'),
      undefined,
    );
    assert.match(attr(follow.attributes, 'db.password')!, /^hmac:[0-9a-f]{16}$/);
    assert.match(attr(follow.links[0]!.attributes, 'link.token')!, /^hmac:/);
    assert.match(attr(follow.links[0]!.attributes, 'link.peer')!, /^hmac:/);
    assert.equal(attr(follow.links[0]!.attributes, 'canary.link'), CANARY);
    assert.match(attr(rs.resource.attributes, 'cloud.api_secret')!, /^hmac:/);
    assert.equal(attr(rs.resource.attributes, 'service.name'), 'secrets-svc');
  });

  test('the same input under the same key always hashes the same; another key differs', () => {
    const a = createRedactor(() => ({ defaults: rules, tenant: rules })).redact(decodeExportRequest(request, 't'));
    const b = createRedactor(() => ({ defaults: rules, tenant: rules })).redact(decodeExportRequest(request, 't'));
    assert.deepEqual(Buffer.from(a.payload), Buffer.from(b.payload));
    const other = section(`hash_key: another-key\nrules:\n${secretRulesYaml('  ')}\n`);
    const c = createRedactor(() => ({ defaults: other, tenant: other })).redact(decodeExportRequest(request, 't'));
    assert.notDeepEqual(Buffer.from(a.payload), Buffer.from(c.payload));
  });

  test('a batch no rule changes is passed on as it is, without re-encoding', async () => {
    const plain = decodeExportRequest(encodeRequest(await sendSecretTrace(null, 'plain').then((s) => s.filter((x) => x.name === 'follow-up'))), 't');
    const only = section(`rules:\n  - keys: [never.seen]\n    action: drop\n`);
    assert.equal(createRedactor(() => ({ defaults: only, tenant: only })).redact(plain), plain);
    assert.equal(createRedactor(() => ({ defaults: none, tenant: none })).redact(plain), plain);
  });

  test("a tenant's rules add to the defaults and apply to that tenant only", () => {
    const own = section(`rules:\n  - keys: [canary.span]\n    action: drop\n`);
    const redactor = createRedactor((tenant) => ({ defaults: none, tenant: tenant === 'a' ? own : none }));
    const forA = redactor.redact(decodeExportRequest(request, 'a'));
    const forB = decodeExportRequest(request, 'b');
    assert.equal(redactor.redact(forB), forB);
    const root = decodeTrace(forA.payload)
      .resourceSpans[0]!.scopeSpans.flatMap((s) => s.spans)
      .find((s) => s.name.startsWith('notify'))!;
    assert.equal(attr(root.attributes, 'canary.span'), undefined);
  });
});

test('scope attributes, lists, maps and non-string values (an OTLP/JSON request)', () => {
  const sv = (s: string) => ({ stringValue: s });
  const json = JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: sv('json-svc') }] },
        scopeSpans: [
          {
            scope: { name: 'lib', attributes: [{ key: 'lib.owner', value: sv(SECRET.email) }] },
            spans: [
              {
                traceId: '0af7651916cd43dd8448eb211c80319c',
                spanId: 'b7ad6b7169203331',
                name: 'op',
                startTimeUnixNano: '1700000000000000000',
                endTimeUnixNano: '1700000001000000000',
                attributes: [
                  { key: 'emails', value: { arrayValue: { values: [sv('ok'), sv(SECRET.email)] } } },
                  {
                    key: 'nested',
                    value: {
                      kvlistValue: {
                        values: [
                          { key: 'db.password', value: sv(SECRET.password) },
                          { key: 'keep', value: sv(CANARY) },
                        ],
                      },
                    },
                  },
                  { key: 'api.secret', value: { intValue: '123456789' } },
                  { key: 'user.ssn', value: { intValue: '78051120' } },
                ],
              },
            ],
          },
        ],
      },
    ],
  });
  const batch = decodeExportRequest(otlpJsonToProto(json), 't');
  const out = createRedactor(() => ({ defaults: rules, tenant: rules })).redact(batch);
  for (const s of ALL_SECRETS) assert.ok(!contains(out.payload, s), s);
  const ss = decodeTrace(out.payload).resourceSpans[0]!.scopeSpans[0]!;
  assert.match(attr(ss.scope.attributes, 'lib.owner')!, /^hmac:/);
  const span = ss.spans[0]!;
  const list = span.attributes.find((a) => a.key === 'emails')!.value;
  assert.ok('arrayValue' in list);
  assert.equal(str(list.arrayValue.values[0]), 'ok');
  assert.match(str(list.arrayValue.values[1])!, /^hmac:/);
  const map = span.attributes.find((a) => a.key === 'nested')!.value;
  assert.ok('kvlistValue' in map);
  assert.match(attr(map.kvlistValue.values, 'db.password')!, /^hmac:/);
  assert.equal(attr(map.kvlistValue.values, 'keep'), CANARY);
  // A non-string value under a hashed key is hashed as its encoded bytes; under a dropped key it goes.
  assert.match(attr(span.attributes, 'api.secret')!, /^hmac:/);
  assert.equal(
    span.attributes.find((a) => a.key === 'user.ssn'),
    undefined,
  );
});

describe('detectors', () => {
  const find = (d: keyof typeof DETECTORS, s: string): string[] => {
    const r: Ranges = [];
    DETECTORS[d].find(s, r);
    const out: string[] = [];
    for (let i = 0; i < r.length; i += 2) out.push(s.slice(r[i]!, r[i + 1]!));
    return out;
  };
  test('card numbers need the Luhn check', () => {
    assert.deepEqual(find('card_number', 'pay 4111 1111 1111 1111 now'), ['4111 1111 1111 1111']);
    assert.deepEqual(find('card_number', '5500-0000-0000-0004'), ['5500-0000-0000-0004']);
    assert.deepEqual(find('card_number', '4111 1111 1111 1112'), []);
    assert.deepEqual(find('card_number', 'order 1234567890123'), []);
  });
  test('e-mail, JWT, bearer, IPv4, IPv6', () => {
    assert.deepEqual(find('email', 'to: a.b+c@mail.example.org;'), ['a.b+c@mail.example.org']);
    assert.deepEqual(find('email', 'user@localhost @ x'), []);
    assert.deepEqual(find('jwt', `x ${SECRET.jwt} y`), [SECRET.jwt]);
    assert.deepEqual(find('jwt', 'eyJonly.one'), []);
    assert.deepEqual(find('bearer_token', 'Authorization: Bearer abc.DEF-123='), ['Bearer abc.DEF-123=']);
    assert.deepEqual(find('ipv4', 'from 10.0.0.1, not 999.1.1.1 or 1.2.3.4.5'), ['10.0.0.1']);
    assert.deepEqual(find('ipv6', 'peer ::1 and fe80::1%eth0 at 12:30:45'), ['::1', 'fe80::1']);
  });
  test('hostile values stay linear (a long run of the characters a detector looks for)', () => {
    const long = 'eyJ'.repeat(200_000);
    const started = process.cpuUsage();
    for (const d of Object.keys(DETECTORS) as (keyof typeof DETECTORS)[]) find(d, long);
    find('email', `${'a'.repeat(500_000)}@`);
    find('card_number', '1 '.repeat(300_000));
    // Not a timing assert on speed: a quadratic scan of these would take minutes, not seconds.
    assert.ok(process.cpuUsage(started).user < 60_000_000);
  });
});

describe('redaction config', () => {
  const load = (overrides: string): void => {
    const dir = mkdtempSync(join(tmpdir(), 'rubato-redact-'));
    try {
      const file = join(dir, 'c.yaml');
      writeFileSync(file, `overrides:\n  defaults:\n    redaction:\n${overrides}\n`);
      loadConfig([`-config.file=${file}`], {});
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const fails = (overrides: string, key: string, message: RegExp): void => {
    assert.throws(
      () => load(overrides),
      (err: unknown) => err instanceof ConfigError && err.key === key && message.test(err.message),
    );
  };
  test('a bad regex, an unknown action, a rule selecting nothing, a hash rule without key: start-up errors naming the key', () => {
    fails('      rules:\n        - key_pattern: "(?=x)"\n          action: drop', 'overrides.defaults.redaction.rules.0.key_pattern', /invalid RE2 pattern/);
    fails(
      '      rules:\n        - keys: [a]\n          action: drop\n        - keys: [b]\n          action: erase',
      'overrides.defaults.redaction.rules.1.action',
      /expected one of drop, mask, hash, got "erase"/,
    );
    fails('      rules:\n        - action: mask', 'overrides.defaults.redaction.rules.0.action', /a rule needs/);
    fails(
      '      rules:\n        - detectors: [iban]\n          action: mask',
      'overrides.defaults.redaction.rules.0.detectors',
      /expected a list of card_number/,
    );
    fails('      rules:\n        - keys: [a]\n          action: hash', 'overrides.defaults.redaction.hash_key', /need a key/);
    fails(
      '      hash_key_env: NOT_SET_ANYWHERE\n      rules:\n        - keys: [a]\n          action: hash',
      'overrides.defaults.redaction.hash_key_env',
      /not set/,
    );
    load('      hash_key: k\n      rules:\n        - keys: [a]\n          action: hash');
  });
});
