// One question asked by the options page and the background: can these settings read
// the audit log right now? Also paints the toolbar badge for the answer.
import { hasHostAccess, settingsClient } from './api.js';
import { browser } from './platform.js';
import type { Settings } from './settings.js';
import { STATES, detailOf, preconditionState, stateFromError, type ViewState } from './states.js';

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

/** The toolbar badge and tooltip for a state (only setup, credential and network problems show). */
export async function showBadge(state: ViewState): Promise<void> {
  const spec = STATES[state.id];
  const problem = spec.badge.text !== '';
  await Promise.all([
    browser.action.setBadgeText({ text: spec.badge.text }),
    problem ? browser.action.setBadgeBackgroundColor({ color: spec.badge.color }) : Promise.resolve(),
    browser.action.setTitle({ title: problem ? `Vigil: ${spec.title}` : 'Vigil audit trail' }),
  ]);
}
