// The toolbar badge, painted by the background only (notifier.ts): pages tell the
// background what they learned (messages.ts) instead of painting it themselves.
import { browser } from './platform.js';
import { loadUnseenCount } from './settings.js';
import { STATES, UNSEEN_BADGE, type ViewState } from './states.js';

/**
 * The toolbar badge and tooltip: a setup, credential or network problem if there is one,
 * else the number of unseen sensitive events (read from storage unless given), else nothing.
 */
export async function showBadge(state: ViewState, unseen?: number): Promise<void> {
  const spec = STATES[state.id];
  const problem = spec.badge.text !== '';
  const count = problem ? 0 : (unseen ?? (await loadUnseenCount()));
  const badge = problem ? spec.badge : count > 0 ? { text: UNSEEN_BADGE.text(count), color: UNSEEN_BADGE.color } : null;
  await Promise.all([
    browser.action.setBadgeText({ text: badge?.text ?? '' }),
    badge ? browser.action.setBadgeBackgroundColor({ color: badge.color }) : Promise.resolve(),
    browser.action.setTitle({ title: problem ? `Vigil: ${spec.title}` : count > 0 ? UNSEEN_BADGE.title(count) : 'Vigil audit trail' }),
  ]);
}
