// The bar above the popup's and the full view's list: the name, the count of matching
// events, the export buttons, then what the page adds (links, options).
import type { ComponentChildren } from 'preact';
import { formatCount } from '../present.js';
import { ExportButtons } from './ExportButtons.js';
import { useRovingFocus } from './roving.js';
import type { ListPage } from './useListPage.js';

export function ListHeader({ page, compact = false, children }: { page: ListPage; compact?: boolean; children?: ComponentChildren }) {
  const { list, query, settings } = page;
  // The page's commands are one Tab stop, so the keyboard reaches the list quickly.
  const tools = useRovingFocus<HTMLDivElement>('button, a[href]');
  return (
    <header class="bar">
      <h1 class="brand">Vigil</h1>
      <span class="count" aria-live="polite" data-count>
        {list.count && list.loadedQuery === query ? formatCount(list.count) : ''}
      </span>
      <span class="spacer" />
      <div class="tools" role="toolbar" aria-label="Export and pages" ref={tools.ref} onKeyDown={tools.onKeyDown} onFocusCapture={tools.onFocusIn}>
        {settings.token && list.state.id !== 'forbidden' && <ExportButtons settings={settings} query={query} compact={compact} />}
        {children}
      </div>
    </header>
  );
}
