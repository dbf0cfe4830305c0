// One Tab stop for a set of controls (a toolbar, a list of rows): arrow keys move focus
// inside it, Home and End jump to the ends (WAI-ARIA's roving tabindex). The tabindex
// attributes are set here, not rendered, so items may come and go between renders and
// the one the user last reached keeps the Tab stop.
import { useLayoutEffect, useRef } from 'preact/hooks';

const NEXT: Record<string, 1 | -1> = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
const VERTICAL_ONLY = new Set(['ArrowDown', 'ArrowUp']);

function itemsOf(root: HTMLElement, selector: string): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(selector)].filter((el) => !(el as HTMLButtonElement).disabled);
}

/**
 * Returns the container's ref and its keydown handler. `selector` picks the items inside;
 * `vertical` lists (rows) answer only the up and down arrows; with `rows` (a selector for
 * the item groups laid out as rows), up and down jump to the first item of the row above
 * or below.
 */
export function useRovingFocus<T extends HTMLElement>(selector: string, options: { vertical?: boolean; rows?: string } = {}) {
  const ref = useRef<T>(null);

  useLayoutEffect(() => {
    const root = ref.current;
    if (!root) return;
    const items = itemsOf(root, selector);
    const current = items.find((el) => el.tabIndex === 0 && el.hasAttribute('tabindex')) ?? items[0];
    for (const el of items) el.tabIndex = el === current ? 0 : -1;
  });

  const onKeyDown = (e: KeyboardEvent) => {
    const root = ref.current;
    const target = e.target as HTMLElement;
    if (!root || e.altKey || e.ctrlKey || e.metaKey) return;
    const items = itemsOf(root, selector);
    const index = items.indexOf(target);
    if (index < 0) return;
    let next = -1;
    const row = options.rows && VERTICAL_ONLY.has(e.key) ? target.closest(options.rows) : null;
    if (row) {
      const rows = [...root.querySelectorAll(options.rows!)];
      const to = rows[rows.indexOf(row) + NEXT[e.key]!];
      if (!to) return e.preventDefault();
      next = items.findIndex((el) => to.contains(el));
    } else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = items.length - 1;
    else if (e.key in NEXT && (!options.vertical || VERTICAL_ONLY.has(e.key))) {
      next = Math.min(items.length - 1, Math.max(0, index + NEXT[e.key]!));
    } else return;
    e.preventDefault();
    focusItem(items, next);
  };

  /** Makes an item the Tab stop when focus reaches it another way (a click); bind as onFocusCapture. */
  const onFocusIn = (e: FocusEvent) => {
    const root = ref.current;
    if (!root) return;
    const items = itemsOf(root, selector);
    if (items.includes(e.target as HTMLElement)) for (const el of items) el.tabIndex = el === e.target ? 0 : -1;
  };

  return { ref, onKeyDown, onFocusIn };
}

function focusItem(items: HTMLElement[], index: number): void {
  const item = items[index];
  if (!item) return;
  for (const el of items) el.tabIndex = el === item ? 0 : -1;
  item.focus();
}
