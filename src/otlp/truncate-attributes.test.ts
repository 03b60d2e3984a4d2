import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { context } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { truncateAttributes } from './truncate-attributes.js';
import { decodeTrace } from './trace-decode.js';
import type { KeyValue } from '../model/trace.js';

const BIG = 'é'.repeat(3000); // 6000 bytes, two per character
const LONG_KEY = 'k'.repeat(3000);

async function request(attrs: Record<string, string>): Promise<Uint8Array> {
  const spans: ReadableSpan[] = [];
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'svc', 'res.big': BIG }),
    spanProcessors: [
      new SimpleSpanProcessor({
        export: (batch, done) => {
          spans.push(...batch);
          done({ code: 0 });
        },
        shutdown: () => Promise.resolve(),
      }),
    ],
  });
  const tracer = provider.getTracer('t');
  const other = tracer.startSpan('other');
  other.end();
  const span = tracer.startSpan('s', { attributes: attrs, links: [{ context: other.spanContext(), attributes: { 'link.big': BIG } }] }, context.active());
  span.addEvent('e', { 'event.big': BIG, 'event.small': 'ok' });
  span.end();
  await provider.shutdown();
  const bytes = ProtobufTraceSerializer.serializeRequest(spans);
  assert.ok(bytes);
  return bytes;
}

function attr(list: readonly KeyValue[], key: string): string | undefined {
  const v = list.find((a) => a.key === key)?.value;
  return v !== undefined && 'stringValue' in v ? v.stringValue : undefined;
}

describe('truncateAttributes', () => {
  it('cuts long keys and string values in every scope at a character boundary and counts them', async () => {
    const buf = await request({ 'span.big': BIG, 'span.small': 'fine', [LONG_KEY]: 'v' });
    const r = truncateAttributes(buf, 2048);
    assert.notEqual(r.bytes, buf);
    const t = decodeTrace(r.bytes);
    const rs = t.resourceSpans[0]!;
    assert.equal(attr(rs.resource.attributes, 'res.big'), 'é'.repeat(1024));
    assert.equal(attr(rs.resource.attributes, 'service.name'), 'svc');
    const spans = rs.scopeSpans.flatMap((s) => s.spans);
    const s = spans.find((x) => x.name === 's')!;
    assert.equal(attr(s.attributes, 'span.big'), 'é'.repeat(1024));
    assert.equal(attr(s.attributes, 'span.small'), 'fine');
    assert.equal(attr(s.attributes, 'k'.repeat(2048)), 'v');
    assert.equal(attr(s.events[0]!.attributes, 'event.big'), 'é'.repeat(1024));
    assert.equal(attr(s.events[0]!.attributes, 'event.small'), 'ok');
    assert.equal(attr(s.links[0]!.attributes, 'link.big'), 'é'.repeat(1024));
    // Everything else survives the rewrite.
    assert.equal(spans.length, 2);
    assert.equal(r.counts.span, 2);
    assert.equal(r.counts.event, 1);
    assert.equal(r.counts.link, 1);
    assert.equal(r.counts.resource, 1);
    assert.equal(r.total, r.counts.span + r.counts.event + r.counts.link + r.counts.resource + r.counts.scope);
  });

  it('returns the input itself when nothing is too long, or when the limit is 0', async () => {
    const buf = await request({ 'span.small': 'fine' });
    assert.equal(truncateAttributes(buf, 10_000).bytes, buf);
    assert.equal(truncateAttributes(buf, 0).bytes, buf);
    assert.equal(truncateAttributes(buf, 0).total, 0);
  });
});
