// The background (service worker; Firefox: an event page): desktop notifications for
// new events matching the user's rules, and the toolbar badge: X not set up or logged
// out, ! rejected or forbidden, ? unreachable, off offline, else the number of unseen
// sensitive events (notifier.ts).
//
// Every listener is registered synchronously at the top level: a worker woken by an
// event must find its listener before the first await. Each wake also syncs at once
// (poll from the stored cursor, reconnect the socket): the worker may have slept through
// anything.
import './jitless.js';
import { TEST_HOOKS } from './buildFlags.js';
import { isBackgroundMessage, SEEN_MESSAGE } from './messages.js';
import { ensureAlarm, markSeen, openNotification, POLL_ALARM, requestSync, testHooks } from './notifier.js';
import { browser } from './platform.js';

browser.runtime.onInstalled.addListener(() => {
  void ensureAlarm();
  void requestSync('installed');
});

browser.runtime.onStartup.addListener(() => {
  void ensureAlarm();
  void requestSync('startup');
});

browser.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === POLL_ALARM) void requestSync('alarm');
});

browser.storage.onChanged.addListener((changes, area) => {
  if (area === 'managed' || (area === 'local' && ('serverUrl' in changes || 'token' in changes || 'notifyRules' in changes))) void requestSync('settings');
});

browser.notifications.onClicked.addListener((id) => {
  void openNotification(id);
});

// Pages never paint the badge: the popup says it has shown the log, a page that met a
// connection problem (or its end) asks for a sync, and the background repaints.
browser.runtime.onMessage.addListener((message: unknown) => {
  if (!isBackgroundMessage(message)) return undefined;
  return message.type === SEEN_MESSAGE ? markSeen() : requestSync('page');
});

// Back online: catch up and repaint the badge now rather than at the next alarm.
globalThis.addEventListener('online', () => void requestSync('online'));
globalThis.addEventListener('offline', () => void requestSync('offline'));

if (TEST_HOOKS) (globalThis as { vigilTest?: unknown }).vigilTest = testHooks();

void ensureAlarm();
void requestSync('wake');
