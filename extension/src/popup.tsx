// The toolbar popup: quick filters, the search box and the newest events.
import './jitless.js';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { SEEN_MESSAGE, SYNC_MESSAGE, tellBackground } from './messages.js';
import { browser } from './platform.js';
import { rulesQuery } from './rules.js';
import { loadSettings, loadUnseenCount, type Settings } from './settings.js';
import { NOTIFICATION_TEXT } from './wording.js';
import { EventRow } from './ui/EventRow.js';
import { FilterBar } from './ui/FilterBar.js';
import { ListHeader } from './ui/ListHeader.js';
import { LoadMore } from './ui/LoadMore.js';
import { SearchBox } from './ui/SearchBox.js';
import { useRovingFocus } from './ui/roving.js';
import { StateNotice } from './ui/StateNotice.js';
import { useListPage } from './ui/useListPage.js';
import { prefetchFirstPage } from './useEventList.js';
import './style.css';

const PAGE_SIZE = 50;

function Popup({ initial, unseenAtOpen }: { initial: Settings; unseenAtOpen: number }) {
  const page = useListPage(initial, initial.lastQuery ?? '', PAGE_SIZE, { afterOpenOptions: () => window.close() });
  const { settings, query, setQuery, list, now, known } = page;
  const [unseen, setUnseen] = useState(unseenAtOpen);
  const notifyQuery = rulesQuery(settings.notifyRules);

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

  const fullViewUrl = `view.html${query ? `#q=${encodeURIComponent(query)}` : ''}`;
  const openInFullView = (url: string) => void browser.tabs.create({ url: browser.runtime.getURL(url) }).then(() => window.close());
  const openFullView = (e: MouseEvent) => {
    e.preventDefault();
    openInFullView(fullViewUrl);
  };

  // The rows are one Tab stop (arrow keys between them); Enter opens the row's event in
  // the full view's detail pane.
  const rows = useRovingFocus<HTMLUListElement>(':scope > li', { vertical: true });
  const onRowKey = (e: KeyboardEvent) => {
    const row = e.target as HTMLElement;
    if (e.key === 'Enter' && row.parentElement === rows.ref.current && row.dataset.id) {
      e.preventDefault();
      const params = new URLSearchParams({ ...(query ? { q: query } : {}), id: row.dataset.id });
      openInFullView(`view.html#${params.toString().replace(/\+/g, '%20')}`);
    } else rows.onKeyDown(e);
  };

  return (
    <div class="popup">
      <ListHeader page={page} compact>
        <a class="button subtle" href={fullViewUrl} onClick={openFullView} data-full-view>
          Full view ↗
        </a>
        <button type="button" class="button subtle icon" title="Options" aria-label="Options" onClick={() => page.onFix('options')}>
          ⚙
        </button>
      </ListHeader>
      {page.configured && (
        <div class="controls-area">
          <SearchBox query={query} onQuery={setQuery} known={known} serverError={page.serverQueryError} />
          <FilterBar query={query} onQuery={setQuery} usernames={known.usernames} targets={known.targets} idPrefix="p" collapsible invalid={page.queryInvalid} />
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
        {page.showItems ? (
          <>
            <ul class="events" aria-label="Audit events, newest first" ref={rows.ref} onKeyDown={onRowKey} onFocusCapture={rows.onFocusIn}>
              {list.items.map((event) => (
                <EventRow key={event.id} event={event} now={now} />
              ))}
            </ul>
            <LoadMore model={list} />
          </>
        ) : (
          <StateNotice state={list.state} onFix={page.onFix} />
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
