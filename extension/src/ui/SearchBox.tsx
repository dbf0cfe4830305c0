// The query box: the query language with completion of keys and values, and the
// parser's own message under the box when a term is wrong. A wrong query is applied like
// any other (the page then shows no results for it, not the last good query's); a term
// still being typed that can become valid is neither applied nor reported until Enter.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { formatQueryError, parseAuditQuery } from '../../../shared/query.js';
import { canStillFinish, complete, type KnownValues } from '../completion.js';

export interface SearchBoxProps {
  query: string;
  onQuery(query: string): void;
  known: KnownValues;
  /** A query error the server reported for the applied query (e.g. username:me for a service token). */
  serverError?: string | null;
  id?: string;
}

const APPLY_AFTER_MS = 350;

export function SearchBox({ query, onQuery, known, serverError, id = 'q' }: SearchBoxProps) {
  // What the user is typing, tied to the query it started from: when the query changes
  // elsewhere (a chip, the timeline, a deep link) the box shows the new query at once.
  const [edit, setEdit] = useState<{ base: string; text: string } | null>(null);
  const draft = edit && edit.base === query ? edit.text : query;
  const setDraft = (text: string) => setEdit({ base: query, text });
  const [caret, setCaret] = useState(query.length);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const [showError, setShowError] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const pendingCaret = useRef<number | null>(null);

  const parsed = useMemo(() => parseAuditQuery(draft), [draft]);
  const typing = !parsed.ok && draft !== query && canStillFinish(draft, caret, known);

  // After a pause, apply the draft, valid or not, unless its last term is still being typed.
  useEffect(() => {
    if (draft === query) {
      setShowError(!parsed.ok);
      return;
    }
    setShowError(false);
    if (typing) return;
    const timer = setTimeout(() => onQuery(draft), APPLY_AFTER_MS);
    return () => clearTimeout(timer);
  }, [draft, query, parsed, typing]);

  // Right after the render that put the completed text in the box, before the next key:
  // an effect runs after the next frame, and a key typed before it would be moved behind.
  useLayoutEffect(() => {
    if (pendingCaret.current !== null && input.current) {
      input.current.setSelectionRange(pendingCaret.current, pendingCaret.current);
      pendingCaret.current = null;
    }
  });

  const completion = useMemo(() => (open ? complete(draft, caret, known) : null), [open, draft, caret, known]);
  const items = completion?.items ?? [];
  const listId = `${id}-suggestions`;

  const accept = (index: number) => {
    const item = items[index];
    if (!completion || !item) return;
    const next = draft.slice(0, completion.from) + item.insert + draft.slice(completion.to);
    const at = completion.from + item.insert.length;
    setDraft(next);
    setCaret(at);
    pendingCaret.current = at;
    setActive(-1);
    setOpen(item.insert.endsWith(':'));
  };

  const applyNow = () => {
    setOpen(false);
    if (draft !== query) onQuery(draft);
    else setShowError(!parsed.ok);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (!open) {
        setOpen(true);
        setActive(0);
        return;
      }
      if (!items.length) return;
      const step = e.key === 'ArrowDown' ? 1 : -1;
      setActive((a) => (a + step + items.length) % items.length);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      if (open && active >= 0 && items[active]) accept(active);
      else applyNow();
    } else if (e.key === 'Tab' && open && active >= 0 && items[active]) {
      e.preventDefault();
      accept(active);
    } else if (e.key === 'Escape') {
      if (open) {
        e.preventDefault();
        e.stopPropagation();
        setOpen(false);
      }
    }
  };

  const error = !parsed.ok && showError ? formatQueryError(parsed.error) : draft === query ? (serverError ?? null) : null;
  const errorId = `${id}-error`;
  const activeId = open && active >= 0 && items[active] ? `${listId}-${active}` : undefined;

  return (
    <div class="search">
      <label class="sr-only" for={id}>
        Search audit events
      </label>
      <input
        ref={input}
        id={id}
        class={error ? 'search-input invalid' : 'search-input'}
        type="text"
        role="combobox"
        aria-autocomplete="list"
        aria-expanded={open && items.length > 0}
        aria-controls={listId}
        aria-activedescendant={activeId}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? errorId : undefined}
        autocomplete="off"
        spellcheck={false}
        placeholder="action:delete since:24h username:alice …"
        value={draft}
        onInput={(e) => {
          const el = e.currentTarget;
          // What was typed decides where the caret is now.
          pendingCaret.current = null;
          setDraft(el.value);
          setCaret(el.selectionStart ?? el.value.length);
          setOpen(true);
          setActive(-1);
        }}
        onClick={(e) => setCaret(e.currentTarget.selectionStart ?? 0)}
        onKeyUp={(e) => {
          if (e.key === 'ArrowLeft' || e.key === 'ArrowRight' || e.key === 'Home' || e.key === 'End') {
            setCaret(e.currentTarget.selectionStart ?? 0);
          }
        }}
        onKeyDown={onKeyDown}
        onBlur={() => setOpen(false)}
      />
      {open && items.length > 0 && (
        <ul class="suggestions" id={listId} role="listbox" aria-label="Suggestions">
          {items.map((item, i) => (
            <li
              key={item.label}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              class={i === active ? 'active' : undefined}
              onMouseDown={(e) => {
                e.preventDefault();
                accept(i);
              }}
            >
              <span class="s-label">{item.label}</span>
              <span class="s-detail">{item.detail}</span>
            </li>
          ))}
        </ul>
      )}
      {error && (
        <p class="query-error" id={errorId} role="alert" data-query-error>
          {error}
        </p>
      )}
    </div>
  );
}
