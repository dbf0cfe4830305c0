import { useEffect, useRef } from 'preact/hooks';
import type { EventListModel } from '../useEventList.js';
import { describe } from '../states.js';

/**
 * The end of a list: loads the next page when it scrolls into view (infinite scroll)
 * or when pressed (keyboard users), and says when everything is shown.
 */
export function LoadMore({ model }: { model: EventListModel }) {
  const ref = useRef<HTMLButtonElement>(null);
  const { hasMore, loadingMore, moreError, items, loadMore } = model;
  useEffect(() => {
    const el = ref.current;
    if (!el || !hasMore || loadingMore || moreError) return;
    // A fresh observer after every page: it reports at once if the end is still in view.
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) loadMore();
    }, { rootMargin: '300px 0px' });
    observer.observe(el);
    return () => observer.disconnect();
  }, [hasMore, loadingMore, moreError, items.length, loadMore]);

  if (!hasMore) {
    return items.length ? <p class="list-end">{items.length === 1 ? 'The only event' : `All ${items.length.toLocaleString('en-US')} events shown`}</p> : null;
  }
  return (
    <div class="list-more">
      {moreError && <p class="more-error" role="alert">{describe(moreError).title}: {describe(moreError).message}</p>}
      <button type="button" class="button subtle" ref={ref} onClick={loadMore} disabled={loadingMore} data-load-more>
        {loadingMore ? 'Loading more…' : moreError ? 'Try again' : 'Load more'}
      </button>
    </div>
  );
}
