// The background: keeps the toolbar badge true to the state of the connection (X not
// set up or logged out, ! rejected or forbidden, ? unreachable, off offline). Every
// listener is registered synchronously at the top level: a service worker woken by an
// event must find its listener before the first await.
import { browser } from './platform.js';
import { loadSettings } from './settings.js';
import { probe, showBadge } from './status.js';

const STATUS_ALARM = 'vigil-status';
const STATUS_PERIOD_MINUTES = 5;

async function refreshBadge(): Promise<void> {
  const { state } = await probe(await loadSettings());
  await showBadge(state);
}

async function ensureAlarm(): Promise<void> {
  if (!(await browser.alarms.get(STATUS_ALARM))) {
    await browser.alarms.create(STATUS_ALARM, { periodInMinutes: STATUS_PERIOD_MINUTES });
  }
}

browser.runtime.onInstalled.addListener(() => {
  void ensureAlarm();
  void refreshBadge();
});

browser.runtime.onStartup.addListener(() => {
  void ensureAlarm();
  void refreshBadge();
});

browser.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === STATUS_ALARM) void refreshBadge();
});

browser.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && ('serverUrl' in changes || 'token' in changes)) void refreshBadge();
});
