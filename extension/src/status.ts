// One question the options page asks: can these settings read the audit log right now?
import { hasHostAccess, settingsClient } from './api.js';
import type { Settings } from './settings.js';
import { detailOf, preconditionState, stateFromError } from './connectionState.js';
import type { ViewState } from './states.js';

export interface Probe {
  state: ViewState;
  count?: { value: number; capped: boolean };
}

export async function probe(settings: Settings): Promise<Probe> {
  const pre = preconditionState(settings);
  if (pre) return { state: pre };
  try {
    const page = await settingsClient(settings).events.list.query({ limit: 1 });
    return { state: { id: page.items.length ? 'ready' : 'empty', detail: detailOf(settings) }, count: page.count ?? undefined };
  } catch (error) {
    return { state: await stateFromError(error, settings, () => hasHostAccess(settings.serverUrl!)) };
  }
}
