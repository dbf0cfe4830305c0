// The toolbar popup: quick filters, the search box and the newest events.
import './jitless.js';
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { SEEN_MESSAGE, SYNC_MESSAGE, tellBackground } from './messages.js';
import { browser } from './platform.js';
import { formatCount } from './present.js';
import { rulesQuery } from './rules.js';
import { loadSettings, loadUnseenCount, saveSettings, type Settings } from './settings.js';
import type { StateFix } from './states.js';
import { NOTIFICATION_TEXT } from './wording.js';
import { EventRow } from './ui/EventRow.js';
import { FilterBar } from './ui/FilterBar.js';
import { useNow, useSettings } from './ui/hooks.js';
import { knownValues } from './ui/known.js';
import { LoadMore } from './ui/LoadMore.js';
import { ExportButtons } from './ui/ExportButtons.js';
import { SearchBox } from './ui/SearchBox.js';
import { StateNotice } from './ui/StateNotice.js';
import { prefetchFirstPage, useEventList } from './useEventList.js';
import './style.css';

const PAGE_SIZE = 50;

function Popup({ initial, unseenAtOpen }: { initial: Settings; unseenAtOpen: number }) {
  const settings = useSettings(initial);
  const [query, setQuery] = useState(initial.lastQuery ?? '');
  const [unseen, setUnseen] = useState(unseenAtOpen);
  const notifyQuery = rulesQuery(settings.notifyRules);
  const list = useEventList(settings, query, PAGE_SIZE);
  const now = useNow();
  const known = useMemo(() => knownValues(list.items), [list.items]);

  useEffect(() => {
    if (query !== (settings.lastQuery ?? '')) void saveSettings({ lastQuery: query });
  }, [query]);

  // The background keeps the count of unseen events and paints the badge: once the log
  // shows, it is told so (the count starts again); after a problem (setup, credentials,
  // network) it is asked to sync, and its badge says what it found.
  useEffect(() => {
    const id = list.state.id;
    const message = id === 'ready' || id === 'empty' ? SEEN_MESSAGE : id !== 'loading' && id !== 'queryError' ? SYNC_MESSAGE : null;
    if (message) void tellBackground({ type: message }).catch((error: unknown) => console.warn('vigil: background', error));
  }, [list.state.id]);

  // Marks the first rendered row (after it is painted), for the popup benchmark
  // (test/browser/popupTiming.ts), next to vigil:settings and vigil:first-page.
  useEffect(() => {
    if (list.items.length && !performance.getEntriesByName('vigil:first-row').length) performance.mark('vigil:first-row');
  }, [list.items.length]);

  const onFix = (fix: StateFix) => {
    if (fix === 'options') void browser.runtime.openOptionsPage().then(() => window.close());
    else if (fix === 'retry') list.reload();
    else setQuery('');
  };

  const fullViewUrl = `view.html${query ? `#q=${encodeURIComponent(query)}` : ''}`;
  const openFullView = (e: MouseEvent) => {
    e.preventDefault();
    void browser.tabs.create({ url: browser.runtime.getURL(fullViewUrl) }).then(() => window.close());
  };

  const showItems = list.items.length > 0 && (list.state.id === 'ready' || list.state.id === 'loading');
  const serverQueryError = list.state.id === 'queryError' && list.loadedQuery === query ? (list.state.detail.message ?? null) : null;
  const configured = list.state.id !== 'notConfigured';

  return (
    <div class="popup">
      <header class="bar">
        <h1 class="brand">Vigil</h1>
        <span class="count" aria-live="polite" data-count>
          {list.count && list.loadedQuery === query ? formatCount(list.count) : ''}
        </span>
        <span class="spacer" />
        {settings.token && list.state.id !== 'forbidden' && <ExportButtons settings={settings} query={query} compact />}
        <a class="button subtle" href={fullViewUrl} onClick={openFullView} data-full-view>
          Full view ↗
        </a>
        <button type="button" class="button subtle icon" title="Options" aria-label="Options" onClick={() => onFix('options')}>
          ⚙
        </button>
      </header>
      {configured && (
        <div class="controls-area">
          <SearchBox query={query} onQuery={setQuery} known={known} serverError={serverQueryError} />
          <FilterBar query={query} onQuery={setQuery} usernames={known.usernames} targets={known.targets} idPrefix="p" />
        </div>
      )}
      {unseen > 0 && notifyQuery && (
        <div class="unseen" role="status" data-unseen={unseen}>
          <span>{NOTIFICATION_TEXT.unseenLine(unseen)}</span>
          <button
            type="button"
            class="button"
            onClick={() => {
              setQuery(notifyQuery);
              setUnseen(0);
            }}
          >
            {NOTIFICATION_TEXT.unseenShow}
          </button>
        </div>
      )}
      <main
        class="list"
        aria-busy={list.state.id === 'loading'}
        data-state={list.state.id}
        data-list-query={list.loadedQuery ?? undefined}
      >
        {showItems ? (
          <>
            <ul class="events" aria-label="Audit events, newest first">
              {list.items.map((event) => (
                <EventRow key={event.id} event={event} now={now} />
              ))}
            </ul>
            <LoadMore model={list} />
          </>
        ) : (
          <StateNotice state={list.state} onFix={onFix} />
        )}
      </main>
    </div>
  );
}

void Promise.all([loadSettings(), loadUnseenCount()]).then(([settings, unseen]) => {
  performance.mark('vigil:settings');
  prefetchFirstPage(settings, settings.lastQuery ?? '', PAGE_SIZE);
  render(<Popup initial={settings} unseenAtOpen={unseen} />, document.getElementById('app')!);
});
