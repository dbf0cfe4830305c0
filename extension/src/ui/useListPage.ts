// What the popup and the full view share: the settings, the query (remembered as the
// last one looked at), the list for it, and what the list's state means for the page.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { browser } from '../platform.js';
import { saveSettings, type Settings } from '../settings.js';
import type { StateFix } from '../states.js';
import { useEventList, type EventListModel } from '../useEventList.js';
import { useNow, useSettings } from './hooks.js';
import { knownValues } from './known.js';

export interface ListPage {
  settings: Settings;
  query: string;
  setQuery(query: string): void;
  list: EventListModel;
  now: number;
  /** Usernames and targets seen in the list (completion and the filters' suggestions). */
  known: ReturnType<typeof knownValues>;
  /** Rows to show (also while the next query loads); otherwise the state's notice. */
  showItems: boolean;
  /** The server's word on the query shown, when it refused it. */
  serverQueryError: string | null;
  /** The query cannot run (the parser or the server refused it): no chip is on for it. */
  queryInvalid: boolean;
  /** A server is set: the search box and filters apply. */
  configured: boolean;
  /** The way out of a problem state. */
  onFix(fix: StateFix): void;
}

export function useListPage(initial: Settings, initialQuery: string, pageSize: number, options: { afterOpenOptions?: () => void } = {}): ListPage {
  const settings = useSettings(initial);
  const [query, setQuery] = useState(initialQuery);
  const list = useEventList(settings, query, pageSize);
  const now = useNow();
  const known = useMemo(() => knownValues(list.items), [list.items]);

  useEffect(() => {
    if (query !== (settings.lastQuery ?? '')) void saveSettings({ lastQuery: query });
  }, [query]);

  const onFix = (fix: StateFix) => {
    if (fix === 'options') void browser.runtime.openOptionsPage().then(() => options.afterOpenOptions?.());
    else if (fix === 'retry') list.reload();
    else setQuery('');
  };

  return {
    settings,
    query,
    setQuery,
    list,
    now,
    known,
    showItems: list.items.length > 0 && (list.state.id === 'ready' || list.state.id === 'loading'),
    serverQueryError: list.state.id === 'queryError' && list.loadedQuery === query ? (list.state.detail.message ?? null) : null,
    queryInvalid: list.state.id === 'queryError' && list.loadedQuery === query,
    configured: list.state.id !== 'notConfigured',
    onFix,
  };
}
