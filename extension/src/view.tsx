// The full view: the popup's filters over a table, a brushable timeline, a detail pane
// and deep links (#q=...&id=...).
import './jitless.js';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { AuditEvent } from '../../shared/event.js';
import { settingsClient } from './api.js';
import { loadSettings, saveSettings, type Settings } from './settings.js';
import { rangeQuery } from './timeRange.js';
import { Detail } from './ui/Detail.js';
import { EventTable } from './ui/EventTable.js';
import { FilterBar } from './ui/FilterBar.js';
import { ListHeader } from './ui/ListHeader.js';
import { LoadMore } from './ui/LoadMore.js';
import { SearchBox } from './ui/SearchBox.js';
import { StateNotice } from './ui/StateNotice.js';
import { Timeline } from './ui/Timeline.js';
import { useListPage } from './ui/useListPage.js';
import { Administration } from './ui/admin/Administration.js';
import { mayAdminister } from './ui/admin/adminCalls.js';
import { SectionTabs, type Section } from './ui/admin/SectionTabs.js';
import './style.css';

const PAGE_SIZE = 100;

interface Link {
  q: string | null;
  id: string | null;
}

function readHash(): Link {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  return { q: params.get('q'), id: params.get('id') };
}

function writeHash(q: string, id: string | null): void {
  const params = new URLSearchParams();
  if (q) params.set('q', q);
  if (id) params.set('id', id);
  const hash = params.toString().replace(/\+/g, '%20');
  const next = hash ? `#${hash}` : location.pathname;
  if (`#${hash}` !== location.hash) history.replaceState(null, '', next);
}

function FullView({ initial, link }: { initial: Settings; link: Link }) {
  const page = useListPage(initial, link.q ?? initial.lastQuery ?? '', PAGE_SIZE);
  const { settings, query, setQuery, list, now, known } = page;
  const [selected, setSelected] = useState<AuditEvent | null>(null);
  const [selectedId, setSelectedId] = useState<string | null>(link.id);
  const [section, setSection] = useState<Section>('events');
  const admin = mayAdminister(settings) && section === 'admin';

  useEffect(() => writeHash(query, selectedId), [query, selectedId]);

  useEffect(() => {
    const onHash = () => {
      const next = readHash();
      setQuery(next.q ?? '');
      setSelectedId(next.id);
    };
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  // A deep-linked event may not be on the first page: fetch it.
  useEffect(() => {
    if (!selectedId) return setSelected(null);
    const inList = list.items.find((e) => e.id === selectedId);
    if (inList) return setSelected(inList);
    if (selected?.id === selectedId || !settings.serverUrl || !settings.token) return;
    settingsClient(settings)
      .events.get.query({ id: selectedId })
      .then(setSelected, () => setSelected(null));
  }, [selectedId, list.items]);

  return (
    <div class="full">
      <ListHeader page={page}>
        {mayAdminister(settings) && <SectionTabs section={section} onSection={setSection} />}
        <span class="server">{settings.serverUrl ?? ''}</span>
        <button
          type="button"
          class="button subtle"
          aria-pressed={settings.timesInUtc === true}
          title="Show the time column in UTC rather than in your time zone"
          onClick={() => void saveSettings({ timesInUtc: !settings.timesInUtc })}
          data-utc-toggle
        >
          Times in UTC
        </button>
        <button type="button" class="button subtle" onClick={() => page.onFix('options')}>
          Options
        </button>
      </ListHeader>
      {admin && <Administration settings={settings} />}
      {!admin && page.configured && (
        <div class="controls-area">
          <SearchBox query={query} onQuery={setQuery} known={known} serverError={page.serverQueryError} />
          <FilterBar query={query} onQuery={setQuery} usernames={known.usernames} targets={known.targets} idPrefix="v" invalid={page.queryInvalid} />
          {settings.token && (
            <Timeline settings={settings} query={query} onRange={(from, to, bucket) => setQuery(rangeQuery(query, from, to, Date.now(), bucket))} />
          )}
        </div>
      )}
      <div class={selected ? 'split with-detail' : 'split'} hidden={admin}>
        <main class="list" aria-busy={list.state.id === 'loading'} data-state={list.state.id} data-list-query={list.loadedQuery ?? undefined}>
          {page.showItems ? (
            <>
              <EventTable
                items={list.items}
                now={now}
                utc={settings.timesInUtc === true}
                selectedId={selectedId}
                onSelect={(e) => {
                  setSelected(e);
                  setSelectedId(e.id);
                }}
              />
              <LoadMore model={list} />
            </>
          ) : (
            <StateNotice state={list.state} onFix={page.onFix} />
          )}
        </main>
        {selected && (
          <Detail
            event={selected}
            settings={settings}
            onClose={() => {
              setSelected(null);
              setSelectedId(null);
            }}
          />
        )}
      </div>
    </div>
  );
}

void loadSettings().then((settings) => render(<FullView initial={settings} link={readHash()} />, document.getElementById('app')!));
