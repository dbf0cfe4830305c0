// One question asked by the options page and the background: can these settings read
// the audit log right now? Also paints the toolbar badge for the answer.
import { hasHostAccess, settingsClient } from './api.js';
import { browser } from './platform.js';
import { loadUnseenCount, type Settings } from './settings.js';
import { STATES, UNSEEN_BADGE, detailOf, preconditionState, stateFromError, type ViewState } from './states.js';

export interface Probe {
  state: ViewState;
  count?: { value: number; capped: boolean };
}

export async function probe(settings: Settings): Promise<Probe> {
  const pre = preconditionState(settings);
  if (pre) return { state: pre };
  try {
    const page = await settingsClient(settings).events.list.query({ limit: 1 });
    return { state: { id: page.items.length ? 'ready' : 'empty', detail: detailOf(settings) }, count: page.count };
  } catch (error) {
    return { state: await stateFromError(error, settings, () => hasHostAccess(settings.serverUrl!)) };
  }
}

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
