// The bar above the popup's and the full view's list: the name, the count of matching
// events, the export buttons, then what the page adds (links, options).
import type { ComponentChildren } from 'preact';
import { formatCount } from '../present.js';
import { ExportButtons } from './ExportButtons.js';
import type { ListPage } from './useListPage.js';

export function ListHeader({ page, compact = false, children }: { page: ListPage; compact?: boolean; children?: ComponentChildren }) {
  const { list, query, settings } = page;
  return (
    <header class="bar">
      <h1 class="brand">Vigil</h1>
      <span class="count" aria-live="polite" data-count>
        {list.count && list.loadedQuery === query ? formatCount(list.count) : ''}
      </span>
      <span class="spacer" />
      {settings.token && list.state.id !== 'forbidden' && <ExportButtons settings={settings} query={query} compact={compact} />}
      {children}
    </header>
  );
}
