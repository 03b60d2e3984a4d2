/**
 * The TraceQL input: a textarea under a highlighted copy of its text, with an autocomplete list fed
 * by the tag name and tag value APIs. Built as an ARIA combobox so it works from the keyboard and
 * with a screen reader.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { getJson, query, type TagScopes, type TagValues } from './api';
import { assistContext, scopedTagNames, tokenize, valueLiteral, type AssistContext } from './model/traceql-assist';

interface Props {
  value: string;
  onInput(v: string): void;
  onSubmit(): void;
  range: { start: number; end: number };
}

interface Suggestion {
  label: string;
  insert: string;
}

export function TraceQLEditor({ value, onInput, onSubmit, range }: Props) {
  const area = useRef<HTMLTextAreaElement>(null);
  // A ref, not state: suggestions read the latest list even when it arrives after the typing.
  const tags = useRef<string[]>([]);
  // One request per tag, shared by every keystroke typed while it runs (the server may take seconds).
  const values = useRef(new Map<string, Promise<Array<{ type: string; value: string }> | null>>());
  const [items, setItems] = useState<Suggestion[]>([]);
  const [active, setActive] = useState(0);
  const [ctx, setCtx] = useState<AssistContext>({ kind: 'none' });

  useEffect(() => {
    const ac = new AbortController();
    getJson<TagScopes>(`api/v2/search/tags${query({ start: range.start, end: range.end })}`, ac.signal)
      .then((t) => {
        tags.current = scopedTagNames(t.scopes ?? []);
        const el = area.current;
        if (el !== null && document.activeElement === el) void suggest(el.value, el.selectionStart);
      })
      .catch((err: unknown) => console.warn('tag names unavailable', err));
    return () => ac.abort();
  }, [range.start, range.end]);

  // Value look-ups finish out of order; only the newest keystroke's answer may set the list.
  const asked = useRef(0);

  async function suggest(text: string, caret: number, retries = 2): Promise<void> {
    const ticket = ++asked.current;
    const c = assistContext(text, caret);
    setCtx(c);
    setActive(0);
    if (c.kind === 'tag') {
      const p = c.prefix.toLowerCase();
      setItems(
        tags.current
          .filter((t) => t.toLowerCase().includes(p))
          .slice(0, 50)
          .map((t) => ({ label: t, insert: `${t} ` })),
      );
    } else if (c.kind === 'value') {
      let pending = values.current.get(c.tag);
      if (pending === undefined) {
        pending = getJson<TagValues>(`api/v2/search/tag/${encodeURIComponent(c.tag)}/values${query({ start: range.start, end: range.end })}`).then(
          (ans) => ans.tagValues ?? [],
          (err: unknown) => {
            console.warn('tag values unavailable', err);
            values.current.delete(c.tag);
            return null;
          },
        );
        values.current.set(c.tag, pending);
      }
      const vs = await pending;
      if (ticket !== asked.current) return;
      if (vs === null) {
        // A failed look-up is asked again shortly (while nothing newer was typed), so a passing
        // server error does not leave the list empty until the next keystroke.
        setItems([]);
        if (retries > 0) setTimeout(() => ticket === asked.current && void suggest(text, caret, retries - 1), 500);
        return;
      }
      const p = c.prefix.toLowerCase();
      setItems(
        vs
          .filter((v) => v.value.toLowerCase().includes(p))
          .slice(0, 50)
          .map((v) => ({ label: v.value, insert: valueLiteral(v.type, v.value) })),
      );
    } else {
      setItems([]);
    }
  }

  function accept(s: Suggestion): void {
    const el = area.current;
    if (el === null || ctx.kind === 'none') return;
    const caret = el.selectionStart;
    const next = value.slice(0, ctx.from) + s.insert + value.slice(caret);
    const pos = ctx.from + s.insert.length;
    onInput(next);
    setItems([]);
    requestAnimationFrame(() => {
      el.focus();
      el.setSelectionRange(pos, pos);
    });
  }

  const open = items.length > 0;
  return (
    <div class="tql">
      <pre class="tql-hl" aria-hidden="true">
        {tokenize(value).map((t, i) => (
          <span key={i} class={`tk-${t.kind}`}>
            {t.text}
          </span>
        ))}
        {'\n'}
      </pre>
      <textarea
        ref={area}
        id="traceql"
        class="tql-input"
        rows={2}
        spellcheck={false}
        autocomplete="off"
        role="combobox"
        aria-label="TraceQL query"
        aria-autocomplete="list"
        aria-expanded={open}
        aria-controls="tql-suggestions"
        aria-activedescendant={open ? `tql-s-${active}` : undefined}
        value={value}
        onInput={(e) => {
          const el = e.currentTarget;
          onInput(el.value);
          void suggest(el.value, el.selectionStart);
        }}
        onClick={(e) => void suggest(value, e.currentTarget.selectionStart)}
        onBlur={() => setTimeout(() => setItems([]), 150)}
        onKeyDown={(e) => {
          if (open && e.key === 'ArrowDown') {
            e.preventDefault();
            setActive((active + 1) % items.length);
          } else if (open && e.key === 'ArrowUp') {
            e.preventDefault();
            setActive((active - 1 + items.length) % items.length);
          } else if (open && (e.key === 'Enter' || e.key === 'Tab')) {
            const s = items[active];
            if (s !== undefined) {
              e.preventDefault();
              accept(s);
            }
          } else if (open && e.key === 'Escape') {
            setItems([]);
          } else if (e.key === 'Enter' && !e.shiftKey) {
            e.preventDefault();
            onSubmit();
          }
        }}
      />
      {open && (
        <ul id="tql-suggestions" class="suggestions" role="listbox" aria-label="Suggestions">
          {items.map((s, i) => (
            <li
              key={s.label}
              id={`tql-s-${i}`}
              role="option"
              aria-selected={i === active}
              class={i === active ? 'active' : ''}
              onMouseDown={(e) => {
                e.preventDefault();
                accept(s);
              }}
            >
              {s.label}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
