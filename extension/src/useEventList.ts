// The list behind the popup and the full view: the first page for a query, then more
// pages by cursor, with every failure turned into a named state.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { AuditEvent } from '../../shared/event.js';
import { formatQueryError, parseAuditQuery } from '../../shared/query.js';
import { hasHostAccess, settingsClient } from './api.js';
import type { Settings } from './settings.js';
import { detailOf, preconditionState, stateFromError } from './connectionState.js';
import type { ViewState } from './states.js';

export interface EventListModel {
  /** loading (items may still show the previous query), ready, empty, or a problem. */
  state: ViewState;
  /** The query the items belong to (null before the first answer). */
  loadedQuery: string | null;
  items: AuditEvent[];
  count: { value: number; capped: boolean } | null;
  hasMore: boolean;
  loadingMore: boolean;
  /** A failure while fetching a further page (the items already shown stay). */
  moreError: ViewState | null;
  loadMore(): void;
  reload(): void;
}

interface Inner {
  state: ViewState;
  loadedQuery: string | null;
  items: AuditEvent[];
  count: EventListModel['count'];
  cursor: string | null;
  loadingMore: boolean;
  moreError: ViewState | null;
}

const LOADING: ViewState = { id: 'loading', detail: {} };

type Page = Awaited<ReturnType<ReturnType<typeof settingsClient>['events']['list']['query']>>;

let prefetched: { key: string; page: Promise<Page> } | null = null;

const keyOf = (settings: Settings, query: string, pageSize: number) =>
  JSON.stringify([settings.serverUrl, settings.token, query, pageSize]);

function firstPage(settings: Settings, query: string, pageSize: number): Promise<Page> {
  const key = keyOf(settings, query, pageSize);
  if (prefetched?.key === key) {
    const { page } = prefetched;
    prefetched = null;
    return page;
  }
  return listFirstPage(settings, query, pageSize);
}

/** The page alone: its count (slow on a large log) is asked for separately, so rows never wait for it. */
function listFirstPage(settings: Settings, query: string, pageSize: number): Promise<Page> {
  return settingsClient(settings).events.list.query({ ...(query.trim() ? { q: query } : {}), limit: pageSize, count: false });
}

function countOf(settings: Settings, query: string): Promise<EventListModel['count']> {
  return settingsClient(settings).events.count.query(query.trim() ? { q: query } : {});
}

/**
 * Asks for the first page before the first render (the popup calls this as soon as it
 * has read its settings), so the request overlaps rendering the filters.
 */
export function prefetchFirstPage(settings: Settings, query: string, pageSize: number): void {
  if (preconditionState(settings) || !parseAuditQuery(query).ok) return;
  const page = listFirstPage(settings, query, pageSize);
  page.catch(() => {}); // handled when taken
  prefetched = { key: keyOf(settings, query, pageSize), page };
}

export function useEventList(settings: Settings, query: string, pageSize: number): EventListModel {
  const [inner, setInner] = useState<Inner>({
    state: LOADING,
    loadedQuery: null,
    items: [],
    count: null,
    cursor: null,
    loadingMore: false,
    moreError: null,
  });
  const generation = useRef(0);
  const innerRef = useRef(inner);
  innerRef.current = inner;
  const settingsRef = useRef(settings);
  settingsRef.current = settings;
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    const s = settingsRef.current;
    const mine = ++generation.current;
    const pre = preconditionState(s);
    if (pre) {
      setInner({ state: pre, loadedQuery: null, items: [], count: null, cursor: null, loadingMore: false, moreError: null });
      return;
    }
    const parsed = parseAuditQuery(query);
    if (!parsed.ok) {
      // Nothing of the previous query stays on show under a query that cannot run.
      const state: ViewState = { id: 'queryError', detail: { message: formatQueryError(parsed.error) } };
      setInner({ state, loadedQuery: query, items: [], count: null, cursor: null, loadingMore: false, moreError: null });
      return;
    }
    setInner((old) => ({ ...old, state: LOADING, loadingMore: false, moreError: null }));
    firstPage(s, query, pageSize).then(
        (page) => {
          if (generation.current !== mine) return;
          if (!performance.getEntriesByName('vigil:first-page').length) performance.mark('vigil:first-page');
          setInner({
            state: { id: page.items.length ? 'ready' : 'empty', detail: detailOf(s) },
            loadedQuery: query,
            items: page.items,
            count: null,
            cursor: page.nextCursor,
            loadingMore: false,
            moreError: null,
          });
          // The count follows the rows; without it the header simply shows none.
          countOf(s, query).then(
            (count) => {
              if (generation.current === mine) setInner((old) => ({ ...old, count }));
            },
            () => {},
          );
        },
        async (error: unknown) => {
          const state = await stateFromError(error, s, () => hasHostAccess(s.serverUrl!));
          if (generation.current !== mine) return;
          setInner({ state, loadedQuery: query, items: [], count: null, cursor: null, loadingMore: false, moreError: null });
        },
      );
  }, [settings.serverUrl, settings.token, query, pageSize, reloads]);

  // Back online: try again.
  useEffect(() => {
    const retry = () => setReloads((n) => n + 1);
    addEventListener('online', retry);
    addEventListener('offline', retry);
    return () => {
      removeEventListener('online', retry);
      removeEventListener('offline', retry);
    };
  }, []);

  const loadMore = useCallback(() => {
    const current = innerRef.current;
    if (!current.cursor || current.loadingMore || current.state.id !== 'ready') return;
    const s = settingsRef.current;
    const mine = generation.current;
    const cursor = current.cursor;
    const q = current.loadedQuery ?? '';
    setInner({ ...current, loadingMore: true, moreError: null });
    settingsClient(s)
      .events.list.query({ ...(q.trim() ? { q } : {}), cursor, limit: pageSize, count: false })
      .then(
        (page) => {
          if (generation.current !== mine) return;
          setInner((old) => {
            const seen = new Set(old.items.map((e) => e.id));
            return {
              ...old,
              items: [...old.items, ...page.items.filter((e) => !seen.has(e.id))],
              cursor: page.nextCursor,
              loadingMore: false,
            };
          });
        },
        async (error: unknown) => {
          const state = await stateFromError(error, s, () => hasHostAccess(s.serverUrl!));
          if (generation.current !== mine) return;
          setInner((old) => ({ ...old, loadingMore: false, moreError: state }));
        },
      );
  }, [pageSize]);

  const reload = useCallback(() => setReloads((n) => n + 1), []);

  return {
    state: inner.state,
    loadedQuery: inner.loadedQuery,
    items: inner.items,
    count: inner.count,
    hasMore: inner.cursor !== null,
    loadingMore: inner.loadingMore,
    moreError: inner.moreError,
    loadMore,
    reload,
  };
}
